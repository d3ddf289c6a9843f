import HawkerProtocol
import HawkerServer
import Testing

/// The README and Protocol/ must name what the code has.
@Suite struct DocumentationTests {
    @Test func readmeListsEveryConfigurationKey() {
        let readme = RepositoryFile.text("README.md")
        for key in GatewayConfiguration.keys {
            #expect(readme.contains("| `\(key.name)` | `\(key.environmentVariable)` | `\(key.defaultDescription())` |"), "README lacks \(key.name); run `hawker config`")
        }
    }

    @Test func protocolSpecDocumentsEveryErrorCodeCloseCodeAndEventKind() {
        let spec = RepositoryFile.text("Protocol/PROTOCOL.md")
        for code in ErrorCode.allCases {
            #expect(spec.contains("`\(code.rawValue)`"), "PROTOCOL.md lacks error code \(code.rawValue)")
        }
        for close in [CloseCode.connectTimeout, .slowConsumer, .flood, .idleTimeout, .unauthorized, .tokenExpired, .tooManyErrors, .quotaExceeded] {
            #expect(spec.contains("| \(close.rawValue) | \(close.name) |"), "PROTOCOL.md lacks close code \(close)")
        }
        for kind in EventKind.allCases {
            #expect(spec.contains("### \(kind.rawValue)"), "PROTOCOL.md lacks event kind \(kind.rawValue)")
        }
    }
}
