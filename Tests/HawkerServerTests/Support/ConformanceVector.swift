import Foundation
import HawkerAuth
import HawkerProtocol
import Testing

/// One file of Protocol/vectors (format in Protocol/vectors/README.md).
struct ConformanceVector: Decodable, CustomTestStringConvertible, Sendable {
    struct TokenSpec: Decodable, Sendable {
        var sub: String
        var role: String
        var streams: [String]
        var merchant: String?
        var name: String?
        var ttl: Int?
        var not_before_in: Int?
        var forge: String?
    }

    struct Client: Decodable, Sendable {
        var token: TokenSpec?
    }

    struct Step: Decodable, Sendable {
        var client: String
        var send: JSONValue?
        var send_raw: String?
        var expect: JSONValue?
        var expect_close: Int?
    }

    var name: String
    var description: String
    var clients: [String: Client]
    var steps: [Step]
    var file = ""

    enum CodingKeys: String, CodingKey {
        case name, description, clients, steps
    }

    var testDescription: String { file }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    static func all() -> [ConformanceVector] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.sorted().compactMap { file in
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path),
                var vector = try? JSONDecoder().decode(ConformanceVector.self, from: data)
            else { return ConformanceVector(name: "unreadable", description: "", clients: [:], steps: [], file: file) }
            vector.file = file
            return vector
        }
    }

    /// Mints the token a TokenSpec describes, signed with `secret` unless forged.
    static func mint(_ spec: TokenSpec, secret: String) async throws -> String {
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        var claims = HawkerClaims(
            sub: spec.sub,
            role: .viewer,
            streams: spec.streams,
            merchant: spec.merchant,
            name: spec.name,
            expiresAt: now.addingTimeInterval(TimeInterval(spec.ttl ?? 3_600)),
            notBefore: spec.not_before_in.map { now.addingTimeInterval(TimeInterval($0)) },
            issuedAt: now
        )
        claims.role = spec.role
        switch spec.forge {
        case "garbage":
            return "not-a-jwt"
        case "bad_signature":
            return try await TokenIssuer(hmacSecret: secret + "-but-wrong").issue(claims)
        case "alg_none":
            let signed = try await TokenIssuer(hmacSecret: secret).issue(claims)
            let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString()
                .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            return "\(header).\(signed.split(separator: ".")[1])."
        default:
            return try await TokenIssuer(hmacSecret: secret).issue(claims)
        }
    }
}

/// Subset matching with placeholders: "$any", "$int", "$string", "$bool".
enum VectorMatch {
    static func mismatch(expected: JSONValue, actual: JSONValue?, path: String = "$") -> String? {
        if case .string(let placeholder) = expected, placeholder.hasPrefix("$") {
            switch (placeholder, actual) {
            case ("$any", .some): return nil
            case ("$int", .some(let value)) where value.intValue != nil: return nil
            case ("$string", .some(.string)): return nil
            case ("$bool", .some(.bool)): return nil
            default: return "\(path): expected \(placeholder), got \(actual.map { "\($0)" } ?? "nothing")"
            }
        }
        switch (expected, actual) {
        case (.object(let expectedFields), .some(.object(let actualFields))):
            for (key, value) in expectedFields.sorted(by: { $0.key < $1.key }) {
                if let problem = mismatch(expected: value, actual: actualFields[key], path: "\(path).\(key)") { return problem }
            }
            return nil
        case (.array(let expectedItems), .some(.array(let actualItems))):
            guard expectedItems.count == actualItems.count else {
                return "\(path): expected \(expectedItems.count) items, got \(actualItems.count)"
            }
            for (index, item) in expectedItems.enumerated() {
                if let problem = mismatch(expected: item, actual: actualItems[index], path: "\(path)[\(index)]") { return problem }
            }
            return nil
        default:
            if let actual, expected == actual || (expected.intValue != nil && expected.intValue == actual.intValue) { return nil }
            return "\(path): expected \(expected), got \(actual.map { "\($0)" } ?? "nothing")"
        }
    }
}
