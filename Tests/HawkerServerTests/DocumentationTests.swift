import Foundation
import HawkerOrders
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

    /// docs/PRODUCTION.md and the systemd unit name only settings and environment
    /// variables the gateway has.
    @Test func productionPageNamesOnlySettingsThatExist() throws {
        let page = RepositoryFile.text("docs/PRODUCTION.md")
        let unit = RepositoryFile.text("deploy/systemd/hawker.service")
        let keys = Set(GatewayConfiguration.keys.map(\.name))
        let variables = Set(GatewayConfiguration.keys.map(\.environmentVariable))
        // The traces' span and attribute names, OpenTelemetry's `service.name` and message
        // types are named too.
        let others = Set(OrderTracing.names + ["service.name"] + MessageType.allCases.map(\.rawValue))
        let isSetting = { (name: String) in keys.contains(name) || name.hasPrefix("merchants.") || others.contains(name) }
        for name in OrderTracing.names {
            #expect(page.contains("`\(name)`"), "docs/PRODUCTION.md does not document the span or attribute \(name)")
        }
        var checked = 0
        // `a.b` in the text (file names aside), and every name in a table's first column.
        let files = [".sqlite", ".json", ".md", ".service", ".env", ".pem", ".js", ".resources", ".swift"]
        for match in page.matches(of: /`([a-z][a-z0-9_<>]*(?:\.[a-z0-9_<>*]+)+)`/) {
            let name = String(match.1)
            guard !files.contains(where: { name.hasSuffix($0) }) else { continue }
            #expect(isSetting(name), "docs/PRODUCTION.md names `\(name)`, which is no setting")
            checked += 1
        }
        for line in page.split(separator: "\n") where line.hasPrefix("| `") {
            let cell = line.dropFirst(2).prefix { $0 != "|" }
            for match in cell.matches(of: /`([a-z0-9_.]+)`/) {
                #expect(isSetting(String(match.1)), "docs/PRODUCTION.md's table names `\(match.1)`, which is no setting")
                checked += 1
            }
        }
        // Keys of the example configuration file.
        for match in page.matches(of: try Regex(#"\n  "([a-z0-9_.]+)": "#, as: (Substring, Substring).self)) {
            #expect(isSetting(String(match.1)), "the example configuration sets \(match.1), which is no setting")
            checked += 1
        }
        for text in [page, unit] {
            for match in text.matches(of: /HAWKER_[A-Z0-9_]+/) {
                #expect(variables.contains(String(text[match.range])), "\(text[match.range]) is no environment variable of the gateway")
                checked += 1
            }
        }
        #expect(checked > 40)
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

    /// The wire-name table, PROTOCOL.md's sections 6 and 7 and the server-message schema
    /// name the same message types.
    @Test func everyServerMessageTypeIsDocumentedAndInTheSchema() throws {
        let spec = RepositoryFile.text("Protocol/PROTOCOL.md")
        let types = Set(MessageType.allCases.map(\.rawValue))
        // Headings of sections 6 and 7: "### 6.9 chat.send / chat.accepted", "#### presence",
        // "### 7.6 order.confirmed, order.failed, order.status".
        let lines = spec.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex { $0.hasPrefix("## 6.") })
        let end = try #require(lines.firstIndex { $0.hasPrefix("## 8.") })
        var documented: Set<String> = []
        for line in lines[start..<end] where line.hasPrefix("###") {
            let title = line.drop { $0 == "#" || $0 == " " }.split(separator: " ", maxSplits: 1)
            // Numbered headings: what comes after the number; for "command / reply", the reply.
            let names = (title.first?.first?.isNumber == true ? title.dropFirst().first.map(String.init) ?? "" : String(title.joined(separator: " ")))
            // Prose headings ("Checkout guarantees", "Ambient pushes") name no message.
            guard !names.contains(where: \.isUppercase) else { continue }
            let replies = names.split(separator: "/").last.map(String.init) ?? names
            for name in replies.split(whereSeparator: { $0 == "," || $0 == " " }) where name.allSatisfy({ $0.isLowercase || $0 == "." || $0 == "_" }) {
                documented.insert(String(name))
            }
        }
        // Commands that have a heading of their own and whose answer is another message.
        let commandsOnly: Set<String> = ["connect", "subscribe", "question.answer"]
        #expect(types.subtracting(documented).isEmpty, "PROTOCOL.md sections 6-7 lack \(types.subtracting(documented).sorted())")
        #expect(documented.subtracting(types).subtracting(commandsOnly).isEmpty, "not in MessageType: \(documented.subtracting(types).subtracting(commandsOnly).sorted())")

        let schema = try JSONSerialization.jsonObject(with: Data(RepositoryFile.text("Protocol/schemas/server-message.json").utf8)) as? [String: Any]
        let listed = ((schema?["properties"] as? [String: Any])?["type"] as? [String: Any])?["enum"] as? [String]
        #expect(Set(try #require(listed)) == types)
        for type in types {
            #expect(!RepositoryFile.text("Protocol/schemas/\(type).json").isEmpty, "no Protocol/schemas/\(type).json")
        }
    }

    /// The schemas validate every frame the tests receive (scripts/validate_frames.py):
    /// their list of error codes is the code's.
    @Test func theSchemasListEveryErrorCode() throws {
        let common = try JSONSerialization.jsonObject(with: Data(RepositoryFile.text("Protocol/schemas/common.json").utf8)) as? [String: Any]
        let definitions = try #require(common?["$defs"] as? [String: Any])
        let listed = definitions.values.compactMap { ($0 as? [String: Any])?["enum"] as? [String] }.first { $0.contains("bad_request") }
        #expect(Set(try #require(listed)) == Set(ErrorCode.allCases.map(\.rawValue)))
    }
}
