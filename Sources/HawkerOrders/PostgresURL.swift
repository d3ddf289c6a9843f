import Foundation
import PostgresNIO

/// Reads `postgres://user[:password]@host[:port]/database[?sslmode=require]` into a client
/// configuration, for every PostgreSQL the gateway talks to (merchants' backends, the
/// shared outbox).
enum PostgresURL {
    static func configuration(_ url: String, setting: String, connectTimeout: Duration, maximumConnections: Int) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, let user = components.user
        else {
            throw OrderBackendError(description: "\(setting) must look like postgres://user:password@host:5432/database")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let requireTLS = components.queryItems?.contains { $0.name == "sslmode" && $0.value == "require" } ?? false
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: requireTLS ? .require(.makeClientConfiguration()) : .disable
        )
        configuration.options.connectTimeout = connectTimeout
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }
}
