import Foundation
import GRDB
import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import Testing

/// The directory's decisions: what a checkout's claim and its stream's host make of the
/// registered codes, referral tickets and their window, and who may register what.
@Suite struct AffiliateDirectoryTests {
    private let shop = StreamID("shop")!
    private let other = StreamID("other")!
    private let day: Int64 = 86_400_000
    private let now: Int64 = 1_800_000_000_000

    /// A directory on a fresh store, read (as a gateway's is before it listens).
    private func directory(maxCodes: Int = 100) async throws -> (AffiliateDirectory, String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hawker-directory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("orders.sqlite").path
        let directory = try make(path, maxCodes: maxCodes)
        try await directory.refresh()
        return (directory, path)
    }

    private func make(_ path: String, maxCodes: Int = 100, secret: String = "a secret of sixteen+ bytes") throws -> AffiliateDirectory {
        AffiliateDirectory(
            store: try SQLiteDocumentStore<AffiliateCode>(path: path, table: .affiliateCodes), tickets: ReferralTicket(secret: Data(secret.utf8)),
            referralWindowMilliseconds: 7 * day, maxCodes: maxCodes)
    }

    private func register(
        _ directory: AffiliateDirectory, _ name: String, owner: String = "anna", rate: Int64 = 1_000, streams: Set<String>? = nil,
        merchants: Set<String>? = nil, hostDefault: Bool = false, from: Int64? = nil, until: Int64? = nil, by registrar: AffiliateDirectory.Registrar = .admin
    ) async throws -> AffiliateCode {
        let registration = AffiliateCodeRegistration(
            owner: owner, commissionBasisPoints: rate, streams: streams, merchants: merchants, hostDefault: hostDefault, validFrom: from, validUntil: until)
        return try await directory.register(name, registration, by: registrar, now: now).get().code
    }

    private func refusal<T>(_ result: Result<T, AffiliateDirectory.Refusal>) -> AffiliateDirectory.Refusal? {
        if case .failure(let refusal) = result { return refusal }
        return nil
    }

    @Test func anEnteredCodeIsCreditedOnlyWhenRegisteredActiveAndForTheStream() async throws {
        let (directory, _) = try await directory()
        _ = try await register(directory, "anna10", streams: ["shop"])
        _ = try await register(directory, "later", from: now + day)
        _ = try await register(directory, "gone", until: now)
        let credited = directory.candidates(for: .init(code: "Anna10"), stream: shop, host: nil, now: now)
        #expect(credited.credits == [AttributionCredit(code: "ANNA10", influencer: "anna", commissionBasisPoints: 1_000, merchants: nil, source: .code)])
        #expect(credited.declinedCode == nil)
        func declined(_ code: String, on stream: StreamID? = nil) -> AttributionCandidates {
            directory.candidates(for: .init(code: code), stream: stream ?? shop, host: nil, now: now)
        }
        #expect(declined("I-MADE-THIS-UP") == AttributionCandidates(declinedCode: .init(code: "I-MADE-THIS-UP", reason: .unknownCode)))
        #expect(declined("x") == AttributionCandidates(declinedCode: .init(code: "x", reason: .unknownCode)))
        #expect(declined("later") == AttributionCandidates(declinedCode: .init(code: "LATER", reason: .codeNotActive)))
        #expect(declined("gone") == AttributionCandidates(declinedCode: .init(code: "GONE", reason: .codeNotActive)))
        #expect(declined("anna10", on: other) == AttributionCandidates(declinedCode: .init(code: "ANNA10", reason: .notForStream)))
    }

    @Test func aRevokedCodeIsNeverCreditedAgainUntilRegisteredAnew() async throws {
        let (directory, _) = try await directory()
        _ = try await register(directory, "anna10")
        let revoked = try await directory.revoke("ANNA10", by: .admin, now: now).get()
        #expect(revoked.revokedAt == now)
        #expect(directory.candidates(for: .init(code: "anna10"), stream: shop, host: nil, now: now).declinedCode?.reason == .codeNotActive)
        let revived = try await register(directory, "anna10", rate: 500)
        #expect(revived.revokedAt == nil)
        #expect(revived.createdAt == now)
        #expect(directory.candidates(for: .init(code: "anna10"), stream: shop, host: nil, now: now).credits.first?.commissionBasisPoints == 500)
    }

    @Test func aReferralTicketCountsWithinTheWindowOnlyAndCannotBeForged() async throws {
        let (directory, path) = try await directory()
        _ = try await register(directory, "anna10")
        let referral = try directory.referral("anna10", now: now).get()
        #expect(referral.code == "ANNA10")
        #expect(referral.expiresAt == now + 7 * day)
        let within = directory.candidates(for: .init(referral: referral.ticket), stream: shop, host: nil, now: now + 7 * day)
        #expect(within.credits.map(\.source) == [.referral])
        let late = directory.candidates(for: .init(referral: referral.ticket), stream: shop, host: nil, now: now + 7 * day + 1)
        #expect(late == AttributionCandidates(declinedReferral: .init(code: "ANNA10", reason: .referralExpired)))
        // Moved back in time, or to another code, or signed with another key: not ours.
        let parts = referral.ticket.split(separator: ".").map(String.init)
        for forged in ["\(parts[0]).\(now + 7 * day).\(parts[2])", "OTHER.\(parts[1]).\(parts[2])", "garbage", String(repeating: "A", count: 500)] {
            #expect(directory.candidates(for: .init(referral: forged), stream: shop, host: nil, now: now).declinedReferral == .init(code: nil, reason: .invalidReferral))
        }
        let stranger = try make(path, secret: "another secret, sixteen+ bytes")
        try await stranger.refresh()
        #expect(stranger.candidates(for: .init(referral: referral.ticket), stream: shop, host: nil, now: now).declinedReferral?.reason == .invalidReferral)
        // A node with the same key (another instance on the same store) accepts it.
        let sibling = try make(path)
        try await sibling.refresh()
        #expect(sibling.candidates(for: .init(referral: referral.ticket), stream: shop, host: nil, now: now).credits.map(\.code) == ["ANNA10"])
        // Unknown and inactive codes get no ticket.
        #expect(throws: AttributionDeclined.Reason.unknownCode) { try directory.referral("nope", now: now).get() }
        _ = try await directory.revoke("anna10", by: .admin, now: now)
        #expect(throws: AttributionDeclined.Reason.codeNotActive) { try directory.referral("anna10", now: now).get() }
    }

    @Test func theHostsDefaultCodesComeAfterTheBuyersInOrder() async throws {
        let (directory, _) = try await directory()
        _ = try await register(directory, "anna10", owner: "anna", merchants: ["m2"])
        _ = try await register(directory, "host-all", owner: "host", rate: 300, hostDefault: true)
        _ = try await register(directory, "host-shop", owner: "host", rate: 500, streams: ["shop"], hostDefault: true)
        _ = try await register(directory, "host-plain", owner: "host", rate: 900)
        // HOST-SHOP is for every merchant: HOST-ALL, after it, could credit no line.
        let candidates = directory.candidates(for: .init(code: "anna10"), stream: shop, host: "host", now: now)
        #expect(candidates.credits.map(\.code) == ["ANNA10", "HOST-SHOP"])
        #expect(candidates.credits.map(\.source) == [.code, .host])
        // Another stream of the same host: only the code for every stream.
        #expect(directory.candidates(for: .init(), stream: other, host: "host", now: now).credits.map(\.code) == ["HOST-ALL"])
        // No host (a stream the gateway made), no code: nothing.
        #expect(directory.candidates(for: .init(), stream: shop, host: nil, now: now) == .empty)
        // The entered code and the referral of the same code count once, as entered.
        let ticket = try directory.referral("anna10", now: now).get().ticket
        #expect(directory.candidates(for: .init(code: "ANNA10", referral: ticket), stream: shop, host: nil, now: now).credits.map(\.source) == [.code])
    }

    @Test func merchantsRegisterForTheirOwnProductsAndCannotTouchOthersCodes() async throws {
        let (directory, _) = try await directory()
        let own = try await register(directory, "shoe10", merchants: nil, by: .merchant("m1"))
        #expect(own.merchants == ["m1"])
        #expect(own.registrar == "merchant:m1")
        let registration = AffiliateCodeRegistration(owner: "anna", commissionBasisPoints: 1)
        #expect(refusal(try await directory.register("shoe10", registration, by: .merchant("m2"), now: now)) == .taken("code 'SHOE10' is registered by someone else"))
        let foreign = AffiliateCodeRegistration(owner: "anna", commissionBasisPoints: 1, merchants: ["m2"])
        guard case .failure(.invalid) = try await directory.register("new1", foreign, by: .merchant("m1"), now: now) else {
            Issue.record("a merchant registered a code for another merchant's products")
            return
        }
        #expect(refusal(try await directory.revoke("shoe10", by: .merchant("m2"), now: now)) == .notFound("no code 'shoe10' of yours"))
        // An admin may change any code; the registrar stays the merchant's.
        let changed = try await register(directory, "shoe10", rate: 2_000, merchants: ["m1"], by: .admin)
        #expect(changed.registrar == "merchant:m1")
        #expect(directory.codes(owner: nil, registrar: .merchant("m2"), after: nil, limit: 10).isEmpty)
        #expect(directory.codes(owner: "anna", registrar: .merchant("m1"), after: nil, limit: 10).map(\.code) == ["SHOE10"])
    }

    @Test func codesPastTheLimitAreRefusedAndBadNamesToo() async throws {
        let (directory, _) = try await directory(maxCodes: 2)
        _ = try await register(directory, "one")
        _ = try await register(directory, "two")
        let registration = AffiliateCodeRegistration(owner: "anna", commissionBasisPoints: 1)
        #expect(refusal(try await directory.register("three", registration, by: .admin, now: now)) == .full(2))
        // Replacing one is no new code.
        #expect(try await directory.register("one", registration, by: .admin, now: now).get().created == false)
        for bad in ["ab", String(repeating: "a", count: 33), "with space", "dots.no", "ümlaut"] {
            guard case .failure(.invalid) = try await directory.register(bad, registration, by: .admin, now: now) else {
                Issue.record("'\(bad)' was registered")
                continue
            }
        }
    }

    /// Another node's registrations reach this one at its next refresh; its own at once.
    @Test func anotherInstanceSeesRegistrationsAfterARefreshAndSurvivesARestart() async throws {
        let (directory, path) = try await directory()
        let node = try make(path)
        try await node.refresh()
        _ = try await register(directory, "anna10")
        #expect(node.code("anna10") == nil)
        #expect(try await node.refresh().codes == 1)
        #expect(node.code("ANNA10")?.owner == "anna")
        _ = try await directory.revoke("anna10", by: .admin, now: now)
        try await node.refresh()
        #expect(node.code("anna10")?.revokedAt == now)
        // A restart reads every code back.
        let restarted = try make(path)
        #expect(try await restarted.refresh().codes == 1)
        #expect(restarted.count == 1)
    }

    @Test func aCodeAnAdminRevokedIsRevivedByAnAdminOnly() async throws {
        let (directory, _) = try await directory()
        _ = try await register(directory, "shoe10", by: .merchant("m1"))
        #expect(try await directory.revoke("shoe10", by: .admin, now: now).get().revokedBy == "admin")
        let again = AffiliateCodeRegistration(owner: "anna", commissionBasisPoints: 1)
        guard case .failure(.taken) = try await directory.register("shoe10", again, by: .merchant("m1"), now: now) else {
            Issue.record("a merchant revived a code an admin revoked")
            return
        }
        #expect(try await register(directory, "shoe10", merchants: ["m1"], by: .admin).revokedAt == nil)
        // A merchant's own revocation is its to undo.
        _ = try await directory.revoke("shoe10", by: .merchant("m1"), now: now)
        #expect(try await register(directory, "shoe10", by: .merchant("m1")).revokedBy == nil)
    }

    /// Every checkout on a host's streams reads its host-default codes: they are bounded
    /// per owner, and one for every merchant ends the list.
    @Test func hostDefaultsAreBoundedAndEndAtOneForEveryMerchant() async throws {
        let (directory, _) = try await directory()
        for index in 0..<AffiliateDirectory.maxHostDefaults {
            _ = try await register(directory, "host\(index)", owner: "host", merchants: ["m\(index)"], hostDefault: true)
        }
        let registration = AffiliateCodeRegistration(owner: "host", commissionBasisPoints: 1, hostDefault: true)
        guard case .failure(.invalid) = try await directory.register("one-more", registration, by: .admin, now: now) else {
            Issue.record("an owner got more host-default codes than the bound")
            return
        }
        #expect(directory.candidates(for: .init(), stream: shop, host: "host", now: now).credits.count == AffiliateDirectory.maxHostDefaults)
        _ = try await directory.revoke("host0", by: .admin, now: now)
        _ = try await register(directory, "host-all", owner: "host", hostDefault: true)
        // Newest first: the code for every merchant comes first and ends the list.
        #expect(directory.candidates(for: .init(), stream: shop, host: "host", now: now).credits.map(\.code) == ["HOST-ALL"])
    }

    @Test func beforeTheStoreIsReadNothingIsCreditedOrDeclined() async throws {
        let (directory, path) = try await directory()
        _ = try await register(directory, "anna10", hostDefault: true)
        let fresh = try make(path)
        #expect(!fresh.isLoaded)
        #expect(fresh.candidates(for: .init(code: "anna10"), stream: shop, host: "anna", now: now) == .empty)
        try await fresh.refresh()
        #expect(fresh.isLoaded)
        #expect(fresh.candidates(for: .init(code: "nope"), stream: shop, host: "anna", now: now).declinedCode?.reason == .unknownCode)
    }

    /// A row the store cannot read (a newer version's, or damaged) is passed over: the
    /// codes after it still arrive.
    @Test func aRowThatDoesNotReadIsPassedOver() async throws {
        let (directory, path) = try await directory()
        _ = try await register(directory, "first")
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO affiliate_code (code, revision, document) VALUES ('JUNK', 2, 'not json')")
        }
        _ = try await register(directory, "third")
        let node = try make(path)
        let read = try await node.refresh()
        #expect(read.codes == 2)
        #expect(read.undecodable == 1)
        #expect(node.code("third") != nil)
    }

    /// Code saves and checkouts share the outbox's file: neither fails for the other's lock.
    @Test func codeSavesAndOutboxCommitsShareTheFile() async throws {
        let (directory, path) = try await directory()
        let outbox = try SQLiteOutbox(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    if index.isMultiple(of: 2) {
                        _ = try await register(directory, "code\(index)")
                    } else {
                        try await outbox.append(outboxReservation("c\(index)"), stream: shop)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(directory.count == 20)
        #expect(try await outbox.depth().pending == 20)
    }

    @Test func registrationsAreCheckedFieldByField() throws {
        func parse(_ fields: [String: JSONValue]) -> String? {
            do throws(AffiliateCodeRegistration.Invalid) {
                _ = try AffiliateCodeRegistration.parse(fields)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(parse(["owner": "anna", "commission_bps": 1_000, "streams": ["shop"], "merchants": ["m1"], "host_default": true, "valid_from": 1, "valid_until": 2]) == nil)
        #expect(parse(["owner": "anna", "commission_bps": 10_001]) != nil)
        #expect(parse(["owner": "anna", "commission_bps": -1]) != nil)
        #expect(parse(["owner": "anna", "commission_bps": .double(1.5)]) != nil)
        #expect(parse(["commission_bps": 1]) != nil)
        #expect(parse(["owner": "", "commission_bps": 1]) != nil)
        #expect(parse(["owner": "anna", "commission_bps": 1, "streams": []]) != nil)
        #expect(parse(["owner": "anna", "commission_bps": 1, "streams": ["bad id!"]]) != nil)
        #expect(parse(["owner": "anna", "commission_bps": 1, "valid_from": 5, "valid_until": 5]) != nil)
        #expect(parse(["owner": "anna", "commission_bps": 1, "valid_until": .int(JSONValue.maxSafeInteger + 1)]) != nil)
        #expect(parse(["owner": "anna", "commission_bps": 1, "rate": 2]) != nil)
        #expect(parse(["owner": "anna", "commission_bps": 1, "host_default": "yes"]) != nil)
    }
}
