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
    ])
    func badValuesAreRefusedByName(key: String, value: String, named: String) {
        #expect {
            _ = try GatewayConfiguration.load(fileContents: nil, environment: [:], overrides: [key: value])
        } throws: { error in
            (error as? ConfigurationError)?.description.contains(named) == true
        }
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
}
