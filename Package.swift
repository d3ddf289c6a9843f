// swift-tools-version:6.1
import PackageDescription

// Shared settings for every target: Swift 6 language mode plus the upcoming
// features that keep imports and existentials explicit.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "hawker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hawker", targets: ["hawker"]),
        .executable(name: "hawker-load", targets: ["hawker-load"]),
        .library(name: "HawkerProtocol", targets: ["HawkerProtocol"]),
        .library(name: "HawkerClient", targets: ["HawkerClient"]),
        .library(name: "HawkerServer", targets: ["HawkerServer"]),
        .library(name: "HawkerAuth", targets: ["HawkerAuth"]),
        // For the fuzz targets (Fuzz/Package.swift), which reach these modules directly.
        .library(name: "HawkerWebSocket", targets: ["HawkerWebSocket"]),
        .library(name: "HawkerCommerce", targets: ["HawkerCommerce"]),
        .library(name: "HawkerOrders", targets: ["HawkerOrders"]),
        .library(name: "HawkerState", targets: ["HawkerState"]),
        .library(name: "HawkerRedis", targets: ["HawkerRedis"]),
        .library(name: "HawkerCluster", targets: ["HawkerCluster"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // Checkout traces over OTLP/HTTP only: the gRPC exporter would pull in grpc-swift.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Wire protocol: message types, JSON codec, error and close codes. No I/O.
        .target(
            name: "HawkerProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio")
            ],
            swiftSettings: swiftSettings
        ),
        // Strict RFC 6455 layer on top of NIOWebSocket: reassembly, UTF-8,
        // close handshake, keepalive, permessage-deflate.
        .target(
            name: "HawkerWebSocket",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The live-commerce domain, without I/O: catalog, flash sales, chat moderation,
        // question and intent aggregation. Value types driven by an injected clock.
        .target(
            name: "HawkerCommerce",
            dependencies: ["HawkerProtocol"],
            swiftSettings: swiftSettings
        ),
        // Accepted checkouts and their deliveries to merchants: the durable outbox, the
        // relay, and the order backends that reach merchants (webhook, PostgreSQL, demo).
        .target(
            name: "HawkerOrders",
            dependencies: [
                "HawkerCommerce",
                "HawkerProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // A small RESP3 client for cluster mode: pipelined commands, scripts, (sharded)
        // pub/sub, reconnects; behind the narrow `Redis` protocol.
        .target(
            name: "HawkerRedis",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What outlives the process: streams, their recent events and rooms, behind the
        // StateStore seam (SQLite for one gateway, Redis for a cluster).
        .target(
            name: "HawkerState",
            dependencies: [
                "HawkerProtocol",
                "HawkerCommerce",
                "HawkerRedis",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Streams, history, snapshots and per-event-loop fan-out behind the StreamEngine seam.
        .target(
            name: "HawkerHub",
            dependencies: [
                "HawkerProtocol",
                "HawkerCommerce",
                "HawkerState",
                "HawkerWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Cluster mode: several gateway nodes on one Redis (requests between nodes; the
        // engine that routes streams to the node holding their lease).
        .target(
            name: "HawkerCluster",
            dependencies: [
                "HawkerRedis",
                "HawkerHub",
                "HawkerState",
                "HawkerProtocol",
                "HawkerCommerce",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Who may do what: JWT verification and the role/command matrix.
        .target(
            name: "HawkerAuth",
            dependencies: [
                "HawkerProtocol",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The browser side (Web/): the JavaScript SDK and the viewer, studio and ops pages,
        // plain files served by the gateway.
        .target(
            name: "HawkerWeb",
            path: "Web",
            sources: ["WebAssets.swift"],
            resources: [.copy("public")],
            swiftSettings: swiftSettings
        ),
        // Composition: HTTP, upgrade, sessions, metrics, lifecycle.
        .target(
            name: "HawkerServer",
            dependencies: [
                "HawkerProtocol",
                "HawkerWebSocket",
                "HawkerHub",
                "HawkerCommerce",
                "HawkerOrders",
                "HawkerAuth",
                "HawkerWeb",
                "HawkerCluster",
                "HawkerRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            swiftSettings: swiftSettings
        ),
        // A small NIO WebSocket client speaking hawker.v1: used by `hawker tail`,
        // `hawker publish`, the tests and the load generator.
        .target(
            name: "HawkerClient",
            dependencies: [
                "HawkerProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hawker",
            dependencies: [
                "HawkerServer",
                "HawkerClient",
                "HawkerAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The load generator (LoadTests/): real WebSocket viewers against a running gateway.
        .executableTarget(
            name: "hawker-load",
            dependencies: [
                "HawkerClient",
                "HawkerRedis",
                .product(name: "Logging", package: "swift-log"),
                "HawkerAuth",
                "HawkerCommerce",
                "HawkerProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "LoadTests/hawker-load",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerProtocolTests",
            dependencies: ["HawkerProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerCommerceTests",
            dependencies: [
                "HawkerCommerce",
                "HawkerProtocol",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerOrdersTests",
            dependencies: [
                "HawkerOrders",
                "HawkerCommerce",
                "HawkerProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerWebSocketTests",
            dependencies: [
                "HawkerWebSocket",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        // What several test targets share: throwaway servers (redis-server) started by the tests.
        .target(
            name: "HawkerTestSupport",
            path: "Tests/HawkerTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerRedisTests",
            dependencies: [
                "HawkerRedis",
                "HawkerTestSupport",
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerClusterTests",
            dependencies: [
                "HawkerCluster",
                "HawkerRedis",
                "HawkerHub",
                "HawkerCommerce",
                "HawkerProtocol",
                "HawkerTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerStateTests",
            dependencies: [
                "HawkerState",
                "HawkerRedis",
                "HawkerTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                "HawkerProtocol",
                "HawkerCommerce",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerHubTests",
            dependencies: [
                "HawkerHub",
                "HawkerState",
                "HawkerCommerce",
                "HawkerCluster",
                "HawkerRedis",
                "HawkerTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerAuthTests",
            dependencies: [
                "HawkerAuth",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HawkerServerTests",
            dependencies: [
                "HawkerServer",
                "HawkerTestSupport",
                "HawkerHub",
                "HawkerCommerce",
                "HawkerWebSocket",
                "HawkerClient",
                "HawkerAuth",
                "HawkerOrders",
                // The upgrade scanner is checked against NIO's parser on generated requests.
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                // The webhook receiver checks signatures with its own HMAC.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // TLSTests makes a self-signed certificate.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                // DashboardTests reads the metrics as Prometheus scrapes them.
                .product(name: "Prometheus", package: "swift-prometheus"),
                // CheckoutTracingTests records the spans in memory.
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
