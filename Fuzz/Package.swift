// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for hawker's libraries. A separate package, so the root package's
// `swift build` / `swift test` never see these targets or their flags.
//
// Build (Linux). Use SwiftPM's `--sanitize=fuzzer`, not `-Xswiftc -sanitize=fuzzer`: only
// the former stops SwiftPM renaming main (with the latter a fuzzer silently exits 0
// without fuzzing):
//   swift build -c release --package-path Fuzz --sanitize=fuzzer
// Run all of them: scripts/fuzz.sh (see Fuzz/README.md); one:
//   SWIFT_BACKTRACE=enable=no Fuzz/.build/release/FuzzJSONParser -max_total_time=60 \
//       -dict=Fuzz/Dictionaries/FuzzJSONParser.dict <scratch dir> Fuzz/Corpus/FuzzJSONParser

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// One executable target per fuzzer: Sources/<Name>/<Name>.swift, plus the shared
/// HarnessSupport (signal set-up, input reading, JSON checks). scripts/fuzz.sh runs every
/// Sources/Fuzz* target, so only fuzzers may be named Fuzz*. No file may be named main.swift: without
/// one, SwiftPM compiles the target with -parse-as-library and libFuzzer's own main() is
/// the entry point.
func fuzzer(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["HarnessSupport"] + dependencies, swiftSettings: swiftSettings)
}

let package = Package(
    name: "hawker-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The root package. `name:` makes `package: "hawker"` below match the root
        // manifest's name; without it the identity is the checkout's directory name
        // ("main" for /work/main), which breaks when CI clones into another directory.
        .package(name: "hawker", path: ".."),
        // Versions come from the root manifest's ranges; listed here for direct imports.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .target(
            name: "HarnessSupport",
            dependencies: [
                .product(name: "HawkerProtocol", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        fuzzer(
            "FuzzJSONParser",
            [
                .product(name: "HawkerProtocol", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzClientCommand",
            [
                .product(name: "HawkerProtocol", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzWebSocketFrames",
            [
                .product(name: "HawkerWebSocket", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzDeflateParameters",
            [
                .product(name: "HawkerWebSocket", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzHTTPUpgrade",
            [
                .product(name: "HawkerServer", package: "hawker"),
                .product(name: "HawkerOrders", package: "hawker"),
                .product(name: "HawkerProtocol", package: "hawker"),
                .product(name: "HawkerWebSocket", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzTokenClaims",
            [
                .product(name: "HawkerAuth", package: "hawker"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        fuzzer(
            "FuzzCommerceSequence",
            [
                .product(name: "HawkerCommerce", package: "hawker"),
                .product(name: "HawkerProtocol", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzStoredState",
            [
                .product(name: "HawkerCommerce", package: "hawker"),
                .product(name: "HawkerProtocol", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzOutboxDecoders",
            [
                .product(name: "HawkerOrders", package: "hawker"),
                .product(name: "HawkerCommerce", package: "hawker"),
                .product(name: "HawkerProtocol", package: "hawker"),
                .product(name: "HawkerServer", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzAffiliateCodes",
            [
                .product(name: "HawkerOrders", package: "hawker"),
                .product(name: "HawkerCommerce", package: "hawker"),
                .product(name: "HawkerProtocol", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzRegions",
            [
                .product(name: "HawkerCommerce", package: "hawker"),
                .product(name: "HawkerProtocol", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        fuzzer(
            "FuzzClusterMessages",
            [
                .product(name: "HawkerCluster", package: "hawker")
            ]),
        fuzzer(
            "FuzzRESPParser",
            [
                .product(name: "HawkerRedis", package: "hawker"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
    ]
)
