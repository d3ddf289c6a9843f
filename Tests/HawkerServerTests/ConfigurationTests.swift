import HawkerCommerce
import HawkerHub
import HawkerServer
import HawkerWebSocket
import NIOCore
import Testing

/// Settings come from defaults < config file < environment < overrides, and bad values
/// are refused with a message naming the key.
@Suite struct ConfigurationTests {
    @Test func precedenceIsFileThenEnvironmentThenOverrides() throws {
        let file = #"{"port": 9000, "ws.max_message_bytes": 4096, "anonymous_viewers": true, "allowed_origins": ["https://a.example", "https://b.example"], "log.level": "debug"}"#
        let configuration = try GatewayConfiguration.load(
            fileContents: file,
            environment: ["HAWKER_PORT": "9100", "HAWKER_WS_PING_INTERVAL_MS": "5000"],
            overrides: ["port": "9200"]
        )
        #expect(configuration.port == 9200)
        #expect(configuration.webSocket.maxMessageBytes == 4096)
        #expect(configuration.webSocket.pingInterval == .milliseconds(5000))
        #expect(configuration.anonymousViewers)
        #expect(configuration.allowedOrigins == ["https://a.example", "https://b.example"])
        #expect(configuration.logLevel == "debug")
    }

    @Test func defaultsAreBounded() throws {
        let configuration = try GatewayConfiguration.load(fileContents: nil, environment: [:], overrides: [:])
        #expect(configuration.webSocket.maxMessageBytes == 65_536)
        #expect(configuration.maxConnections == 100_000)
        #expect(configuration.hub.historyCapacity == 1_000)
        #expect(configuration.jwtSecret == nil)
        #expect(!configuration.anonymousViewers)
        #expect(!configuration.conformanceEcho)
    }

    @Test(arguments: [
        ("port", "70000", "port"),
        ("ws.max_message_bytes", "10", "ws.max_message_bytes"),
        ("anonymous_viewers", "maybe", "anonymous_viewers"),
        ("jwt.secret", "short", "jwt.secret"),
        ("log.format", "xml", "log.format"),
        ("no.such.key", "1", "no.such.key"),
        ("cluster.node_id", String(repeating: "n", count: 129), "cluster.node_id"),
        ("tracing.sample_ratio", "1.5", "tracing.sample_ratio"),
        ("tracing.sample_ratio", "nan", "tracing.sample_ratio"),
        ("tracing.otlp_endpoint", "collector:4318", "tracing.otlp_endpoint"),
    ])
    func badValuesAreRefusedByName(key: String, value: String, named: String) {
        #expect {
            _ = try GatewayConfiguration.load(fileContents: nil, environment: [:], overrides: [key: value])
        } throws: { error in
            (error as? ConfigurationError)?.description.contains(named) == true
        }
    }

    /// The shared outbox is a cluster's, and a claim on an order must outlast the call that
    /// delivers it (or another node calls the merchant too).
    @Test func theSharedOutboxNeedsAClusterAndClaimsLongerThanEveryCall() throws {
        let shared = ["orders.outbox_url": "postgres://hawker@127.0.0.1:5432/hawker"]
        #expect {
            _ = try GatewayConfiguration.load(fileContents: nil, environment: [:], overrides: shared)
        } throws: { error in
            (error as? ConfigurationError)?.description.contains("cluster.redis_url") == true
        }
        let cluster = shared.merging(["cluster.redis_url": "redis://127.0.0.1:6379"]) { $1 }
        #expect(try GatewayConfiguration.load(fileContents: nil, environment: [:], overrides: cluster).orders.sharedOutboxURL != nil)
        let service = cluster.merging(["merchants.m1.backend": "order_service", "orders.claim_ms": "20000"]) { $1 }
        #expect {
            _ = try GatewayConfiguration.load(fileContents: nil, environment: [:], overrides: service)
        } throws: { error in
            (error as? ConfigurationError)?.description.contains("merchants.m1.visibility_timeout_ms") == true
        }
        let longer = service.merging(["merchants.m1.visibility_timeout_ms": "15000"]) { $1 }
        #expect(try GatewayConfiguration.load(fileContents: nil, environment: [:], overrides: longer).orders.claimMilliseconds == 20_000)
    }

    @Test func tlsNeedsBothFilesAndTheFileMustBeAnObject() {
        #expect(throws: ConfigurationError.self) {
            _ = try GatewayConfiguration.load(fileContents: nil, environment: [:], overrides: ["tls.certificate": "/tmp/c.pem"])
        }
        #expect(throws: ConfigurationError.self) {
            _ = try GatewayConfiguration.load(fileContents: "[1, 2]", environment: [:], overrides: [:])
        }
        #expect(throws: ConfigurationError.self) {
            _ = try GatewayConfiguration.load(fileContents: #"{"port": {"nested": 1}}"#, environment: [:], overrides: [:])
        }
    }

    @Test func merchantsAndTheirBackendsComeFromTheConfigFile() throws {
        let file = #"""
            {"merchants.northwind.backend": "webhook", "merchants.northwind.url": "https://orders.example/hook",
             "merchants.northwind.secret": "0123456789abcdef0123", "merchants.northwind.timeout_ms": 2500,
             "merchants.cobbler.backend": "postgres", "merchants.cobbler.postgres_url": "postgres://u:p@db:5432/shop",
             "merchants.atelier.backend": "order_service", "orders.default_backend": "none", "checkout.buyable": "any"}
            """#
        let configuration = try GatewayConfiguration.load(fileContents: file, environment: [:], overrides: ["merchants.atelier.visibility_timeout_ms": "9000"])
        let merchants = configuration.orders.merchants
        #expect(merchants["northwind"]?.kind == .webhook)
        #expect(merchants["northwind"]?.url == "https://orders.example/hook")
        #expect(merchants["northwind"]?.timeoutMilliseconds == 2_500)
        #expect(merchants["cobbler"]?.postgresURL == "postgres://u:p@db:5432/shop")
        #expect(merchants["atelier"]?.kind == .orderService)
        #expect(merchants["atelier"]?.visibilityTimeoutMilliseconds == 9_000)
        #expect(configuration.orders.defaultBackend == .none)
        #expect(configuration.hub.room.checkoutPolicy == .anyInCatalog)
    }

    @Test(arguments: [
        (#"{"merchants.a.backend": "webhook", "merchants.a.secret": "0123456789abcdef0123"}"#, "merchants.a.url"),
        (#"{"merchants.a.backend": "webhook", "merchants.a.url": "https://x.example", "merchants.a.secret": "short"}"#, "merchants.a.secret"),
        (#"{"merchants.a.backend": "postgres"}"#, "merchants.a.postgres_url"),
        (#"{"merchants.a.backend": "carrier-pigeon"}"#, "merchants.a.backend"),
        (#"{"merchants.a.colour": "blue"}"#, "colour"),
        (#"{"merchants.bad id!.backend": "demo"}"#, "merchants.<merchant id>"),
        (#"{"orders.default_backend": "maybe"}"#, "orders.default_backend"),
        (#"{"checkout.buyable": "everything"}"#, "checkout.buyable"),
    ])
    func badMerchantSettingsAreRefusedByName(_ file: String, _ named: String) {
        do {
            _ = try GatewayConfiguration.load(fileContents: file, environment: [:], overrides: [:])
            Issue.record("accepted \(file)")
        } catch {
            #expect(error.description.contains(named), "\(error.description)")
        }
    }
}
