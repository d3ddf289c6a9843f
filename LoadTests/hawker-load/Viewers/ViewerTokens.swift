import HawkerAuth

/// Each viewer its own user (`load-viewer-<index>`), as real viewers are: the gateway's
/// per-user quotas (connections, subscriptions) then apply as in production instead of
/// refusing the 33rd viewer of one shared token. Signed in the process that connects
/// them, all at once before the first handshake, so signing is not in the timings.
struct ViewerTokens: Sendable {
    var secret: String
    var subjectPrefix = "load-viewer"

    /// Tokens for viewers `first ..< first + count`.
    func sign(first: Int, count: Int) async throws -> [String] {
        let issuer = await TokenIssuer(hmacSecret: secret)
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for index in first..<(first + count) {
            tokens.append(try await issuer.issue(subject: "\(subjectPrefix)-\(index)", role: .viewer, streams: ["*"], ttl: 3_600))
        }
        return tokens
    }
}
