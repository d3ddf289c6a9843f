import ArgumentParser
import Foundation
import HawkerAuth
import HawkerServer

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a token signed with the configured HS256 secret.")

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "viewer, host, moderator, order_service, affiliate or admin.") var role: String = "viewer"
    @Option(name: .customLong("stream"), help: "A stream the token allows (repeat; * for all).") var streams: [String] = []
    @Option(help: "Lifetime in seconds.") var ttl: Int = 3_600
    @Option(help: "Subject (user id).") var sub: String?
    @Option(help: "Merchant of record (order services).") var merchant: String?
    @Option(help: "Display name shown next to chat messages.") var name: String?

    func run() async throws {
        guard let role = Role(rawValue: role) else {
            throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let configuration = try options.load()
        guard let secret = configuration.jwtSecret ?? DevelopmentSecret.read(for: configuration) else {
            throw ValidationError("no secret: set HAWKER_JWT_SECRET (or jwt.secret), or run `hawker serve` once with the same --data-dir to create a development secret")
        }
        let issuer = await TokenIssuer(hmacSecret: secret)
        let token = try await issuer.issue(
            subject: sub ?? "\(role.rawValue)-\(Int.random(in: 1000...9999))",
            role: role,
            streams: streams,
            merchant: merchant,
            name: name,
            ttl: TimeInterval(ttl)
        )
        print(token)
    }
}
