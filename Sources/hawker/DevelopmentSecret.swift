import Foundation
import HawkerProtocol
import HawkerServer

/// With no secret and no JWKS configured, `serve` makes a development secret and keeps
/// it in the data directory, so `hawker token` signs tokens the server accepts.
enum DevelopmentSecret {
    static func path(in configuration: GatewayConfiguration) -> String {
        (configuration.dataDirectory as NSString).appendingPathComponent("dev-jwt-secret")
    }

    static func loadOrCreate(for configuration: GatewayConfiguration) throws -> (secret: String, created: Bool) {
        let file = path(in: configuration)
        if let existing = read(for: configuration) { return (existing, false) }
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        let secret = RandomID.hex16() + RandomID.hex16() + RandomID.hex16() + RandomID.hex16()
        guard FileManager.default.createFile(atPath: file, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: file])
        }
        return (secret, true)
    }

    static func read(for configuration: GatewayConfiguration) -> String? {
        guard let data = FileManager.default.contents(atPath: path(in: configuration)) else { return nil }
        let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return secret.isEmpty ? nil : secret
    }
}
