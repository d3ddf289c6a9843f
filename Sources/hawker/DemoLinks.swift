import Foundation
import HawkerAuth
import HawkerServer
import Logging
import NIOCore
import ServiceLifecycle

/// `serve --demo`: once the gateway listens, prints the three pages a newcomer opens —
/// the viewer page, the host's studio and the ops dashboard — with tokens for the demo
/// stream, on standard output (whatever the log level). It also registers two
/// influencers' codes and prints the viewer page as reached through one's link, so a
/// checkout from it is credited (the studio's insights show the code).
struct DemoLinks: Service {
    let gateway: Gateway
    let configuration: GatewayConfiguration
    let secret: String?
    let logger: Logger

    func run() async throws {
        try await printLinks()
        // A service that returns would end the group: this one waits for the shutdown.
        try await gracefulShutdown()
    }

    private func printLinks() async throws {
        // The port is known once the gateway has bound it (port 0 picks one).
        var port: Int?
        while port == nil {
            port = gateway.localAddress?.port
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let port else { return }
        // Two sellers with their own zones, shipping and tax (orders go to the demo backend):
        // a viewer who changes where it ships sees totals and what ships there change; and
        // the supplier that ships Northwind's scarf (its shipments go to the demo backend too).
        for (merchant, terms) in DemoPublisher.merchantTerms {
            try await gateway.registerMerchant(merchant, body: terms)
        }
        guard let secret else {
            logger.notice("demo stream 'demo' is live; no jwt.secret to sign demo tokens with (jwt.jwks only): bring your own")
            return
        }
        // Anna's and Luca's codes (a checkout from Anna's link credits her 10 %), and the
        // host's own 3 %, credited on the demo stream when a buyer brings no code.
        for (code, owner, rate, hostDefault) in [
            ("ANNA10", "anna", Int64(1_000), false), ("LUCA5", "luca", Int64(500), false), ("DEMOHOST3", DemoPublisher.host, Int64(300), true),
        ] {
            try await gateway.registerAffiliateCode(code, owner: owner, commissionBasisPoints: rate, hostDefault: hostDefault)
        }
        let issuer = await TokenIssuer(hmacSecret: secret)
        let day: TimeInterval = 86_400
        let viewer = try await issuer.issue(subject: "demo-viewer", role: .viewer, streams: ["demo"], ttl: day)
        let host = try await issuer.issue(subject: DemoPublisher.host, role: .host, streams: ["demo"], ttl: day)
        let anna = try await issuer.issue(subject: "anna", role: .affiliate, streams: ["demo"], ttl: day)
        let ops = try await issuer.issue(subject: "demo-ops", role: .admin, streams: ["demo"], ttl: day)
        // Reachable from this machine also when the gateway listens on every address.
        let address = ["0.0.0.0", "::", ""].contains(configuration.host) ? "127.0.0.1" : configuration.host
        let base = "\(configuration.tlsEnabled ? "https" : "http")://\(address.contains(":") ? "[\(address)]" : address):\(port)"
        // Unbuffered: a script reading the output sees the links at once.
        FileHandle.standardOutput.write(
            Data(
                """

                The demo stream is live. Open:
                  viewer  \(base)/watch/demo#token=\(viewer)
                  studio  \(base)/studio/demo#token=\(host)
                  ops     \(base)/ops#token=\(ops)
                The viewer page as reached through influencer Anna's link (code ANNA10, 10 %),
                and Anna's earnings (the host's are at the same page with the studio's token):
                          \(base)/watch/demo?ref=ANNA10#token=\(viewer)
                          \(base)/earnings#token=\(anna)
                (demo tokens, valid for 24 hours)

                """.utf8))
    }
}
