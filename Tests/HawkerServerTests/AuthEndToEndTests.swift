import Crypto
import Foundation
import HawkerAuth
import HawkerClient
import HawkerProtocol
import HawkerServer
import NIOCore
import Testing

/// Who may do what, over real sockets: each role against each command, and every way a
/// token can be wrong.
@Suite struct AuthEndToEndTests {
    static let roles: [Role] = Role.allCases

    @Test(arguments: roles)
    func roleMatrixOnOwnStream(role: Role) async throws {
        let server = try await TestGateway.start()
        _ = try await server.publish("own", "stream.started", [:])
        _ = try await server.publish("other", "stream.started", [:])
        let client = try await server.client(role, streams: ["own"])

        try await client.send(["type": "subscribe", "id": "1", "stream": "own"])
        #expect(try await client.receive()["type"] == "subscribed")

        try await client.send(["type": "subscribe", "id": "2", "stream": "other"])
        let other = try await client.receive()
        #expect(other["type"] == (role == .admin ? "subscribed" : "error"))
        if role != .admin { #expect(other["code"] == "forbidden") }

        try await client.send(["type": "publish", "id": "3", "stream": "own", "event": ["kind": "announcement", "data": ["text": "hi"]]])
        var published = try await client.receive()
        // A subscribed publisher may see its own event before the reply.
        if published["type"] == "event" { published = try await client.receive() }
        let mayPublish = role == .host || role == .admin
        #expect(published["type"] == (mayPublish ? "published" : "error"))
        if !mayPublish {
            #expect(published["code"] == "forbidden")
            #expect(published["re"] == "3")
        }
        await client.close()
        await server.stop()
    }

    /// A token the event loop does not check itself (here an extra header field: jwt-kit
    /// verifies it, off the loop) keeps the session authenticating for a while; a
    /// subscribe sent behind `connect` waits and is carried out after `welcome`.
    @Test func aSubscribeBehindConnectWaitsWhileTheTokenIsVerifiedOffTheLoop() async throws {
        let server = try await TestGateway.start()
        _ = try await server.publish("shop", "stream.started", [:])
        let header = #"{"alg":"HS256","typ":"JWT","x-test":"off the loop"}"#
        let payload = #"{"sub":"eve","role":"viewer","streams":["shop"],"exp":\#(Int(Date().timeIntervalSince1970) + 600)}"#
        func base64URL(_ bytes: some Sequence<UInt8>) -> String {
            Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let input = base64URL(Array(header.utf8)) + "." + base64URL(Array(payload.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(TestGateway.secret.utf8)))
        let token = input + "." + base64URL(Array(mac))
        let client = try await server.open()
        try await client.send(["type": "connect", "id": "c", "token": .string(token)])
        try await client.send(["type": "subscribe", "id": "s", "stream": "shop"])
        let welcome = try await client.receive()
        #expect(welcome["type"] == "welcome" && welcome["re"] == "c")
        let subscribed = try await client.receive("subscribed")
        #expect(subscribed["re"] == "s")
        await client.close()
        await server.stop()
    }

    @Test func hostCannotPublishToAStreamOutsideItsClaim() async throws {
        let server = try await TestGateway.start()
        let host = try await server.client(.host, streams: ["mine"])
        try await host.send(["type": "publish", "id": "1", "stream": "theirs", "event": ["kind": "announcement", "data": ["text": "hi"]]])
        let reply = try await host.receive()
        #expect(reply["code"] == "forbidden")
        await host.close()
        await server.stop()
    }

    @Test func expiredTokenIsRefusedWith4501() async throws {
        let server = try await TestGateway.start()
        let client = try await server.open()
        let token = try await server.issuer.issue(subject: "u", role: .viewer, streams: ["s"], ttl: 60, now: Date().addingTimeInterval(-3_600))
        try await client.send(["type": "connect", "id": "1", "token": .string(token)])
        let reply = try await client.receive()
        #expect(reply["code"] == "token_expired")
        #expect(reply["re"] == "1")
        #expect(try await client.closeCode() == 4501)
        await server.stop()
    }

    /// A token that runs out while the session is open ends it (`SessionClocks`' expiry
    /// heap, not a timer per session); another session's earlier expiry, cancelled when
    /// it closed, does not get in the way (SessionDeadlinesTests covers the heap).
    @Test func aTokenThatRunsOutClosesTheSessionWith4501() async throws {
        let server = try await TestGateway.start()
        _ = try await server.publish("s", "stream.started", [:])
        // `exp` `window` seconds ahead (tokens carry whole seconds). A loaded machine may
        // take longer than that to connect: then again with a longer window, so that the
        // expiry still comes while the session is open.
        for window in [2, 4, 8, 16] {
            let shortLived = try await server.issuer.issue(
                subject: "u", role: .viewer, streams: ["s"], ttl: 60, now: Date().addingTimeInterval(Double(window - 60)))
            let longLived = try await server.issuer.issue(
                subject: "v", role: .viewer, streams: ["s"], ttl: 60, now: Date().addingTimeInterval(Double(window + 1 - 60)))
            let leaving = try await server.open()
            try await leaving.send(["type": "connect", "id": "1", "token": .string(longLived)])
            let left = try await leaving.receive()
            await leaving.close()
            let client = try await server.open()
            try await client.send(["type": "connect", "id": "1", "token": .string(shortLived)])
            let welcome = try await client.receive()
            guard left["type"] == "welcome", welcome["type"] == "welcome" else {
                #expect(welcome["code"] == "token_expired" || left["code"] == "token_expired", "\(left) \(welcome)")
                await client.close()
                continue
            }
            try await client.send(["type": "subscribe", "id": "2", "stream": "s"])
            let subscribed = try await client.receive()
            guard subscribed["type"] == "subscribed" else {
                #expect(subscribed["code"] == "token_expired", "\(subscribed)")
                continue
            }
            let expired = try await client.receive()
            #expect(expired["type"] == "error" && expired["code"] == "token_expired")
            #expect(try await client.closeCode() == 4501)
            await server.stop()
            return
        }
        Issue.record("no window long enough for a welcome before the token ran out")
        await server.stop()
    }

    @Test func notYetValidTokenIsRefused() async throws {
        let server = try await TestGateway.start()
        let client = try await server.open()
        let now = Date()
        let claims = HawkerClaims(sub: "u", role: .viewer, streams: ["s"], expiresAt: now.addingTimeInterval(7_200), notBefore: now.addingTimeInterval(3_600))
        try await client.send(["type": "connect", "id": "1", "token": .string(try await server.issuer.issue(claims))])
        #expect(try await client.receive()["code"] == "token_expired")
        #expect(try await client.closeCode() == 4501)
        await server.stop()
    }

    @Test(arguments: ["bad_signature", "alg_none", "garbage", "missing"])
    func forgedTokensAreRefusedWith4500(kind: String) async throws {
        let server = try await TestGateway.start()
        let valid = try await server.token(.admin, streams: ["*"])
        let parts = valid.split(separator: ".").map(String.init)
        let token: String?
        switch kind {
        case "bad_signature":
            let other = await TokenIssuer(hmacSecret: "another-secret-entirely-0123456789")
            token = try await other.issue(subject: "u", role: .admin, streams: ["*"], ttl: 600)
        case "alg_none":
            let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString()
                .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            token = "\(header).\(parts[1])."
        case "garbage":
            token = "not.a.jwt"
        default:
            token = nil
        }
        let client = try await server.open()
        var connect: [String: JSONValue] = ["type": "connect", "id": "1"]
        if let token { connect["token"] = .string(token) }
        try await client.send(connect)
        let reply = try await client.receive()
        #expect(reply["code"] == "unauthorized")
        #expect(try await client.closeCode() == 4500)
        await server.stop()
    }

    @Test func anonymousViewersReadButCannotPublish() async throws {
        let server = try await TestGateway.start { $0.anonymousViewers = true }
        _ = try await server.publish("open", "stream.started", [:])
        let client = try await server.open()
        try await client.send(["type": "connect", "id": "1"])
        let welcome = try await client.receive()
        #expect(welcome["type"] == "welcome")
        #expect(welcome["user"]?.objectValue?["role"] == "viewer")
        try await client.send(["type": "subscribe", "id": "2", "stream": "open"])
        #expect(try await client.receive()["type"] == "subscribed")
        try await client.send(["type": "publish", "id": "3", "stream": "open", "event": ["kind": "announcement", "data": ["text": "x"]]])
        #expect(try await client.receive()["code"] == "forbidden")
        await client.close()
        await server.stop()
    }

    @Test func noConnectInTimeClosesWith4000() async throws {
        let server = try await TestGateway.start { $0.connectTimeout = .milliseconds(100) }
        let client = try await server.open()
        let code = try await client.closeCode()
        #expect(code == 4000, "closed with \(String(describing: code))")
        await server.stop()
    }
}
