import Foundation
import HawkerAuth
import HawkerOrders
import HawkerProtocol
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Influencer codes, put together: the directory the rooms credit checkouts from, its
/// store beside the outbox (the SQLite file, or a cluster's shared PostgreSQL), and the
/// HTTP API admins and merchants register codes with (`/v1/affiliate-codes`).
final class AffiliateDesk: Sendable {
    let directory: AffiliateDirectory
    private let follower: StoreFollower
    private let logger: Logger

    init(configuration: GatewayConfiguration, outboxPath: String, logger: Logger) throws {
        let settings = configuration.affiliates
        let (store, storeService) = try RegistryStore.open(
            .affiliateCodes, of: AffiliateCode.self, configuration: configuration, outboxPath: outboxPath, logger: logger)
        let secret: String
        if configuration.clusterRedisURL != nil, settings.referralSecret == nil, configuration.jwtSecret == nil {
            // Each node would sign with a key of its own: tickets would fail on the others.
            throw ConfigurationError(description: "a cluster with jwt.jwks only needs affiliates.referral_secret, the same on every node")
        }
        if let configured = settings.referralSecret {
            guard configured.utf8.count >= 16 else { throw ConfigurationError(description: "affiliates.referral_secret must be at least 16 bytes") }
            secret = configured
        } else if let jwt = configuration.jwtSecret {
            secret = jwt
        } else {
            // JWKS only: tickets of this process alone (they do not outlive a restart).
            secret = RandomID.hex16() + RandomID.hex16()
            logger.warning("no affiliates.referral_secret or jwt.secret: referral tickets are good until this process stops")
        }
        directory = AffiliateDirectory(
            store: store, tickets: ReferralTicket(secret: Data(secret.utf8)), referralWindowMilliseconds: settings.referralWindowMilliseconds,
            maxCodes: settings.maxCodes)
        let directory = self.directory
        follower = StoreFollower(
            "affiliate codes", storeService: storeService, interval: .milliseconds(settings.refreshMilliseconds), logger: logger
        ) { try await directory.refresh().undecodable }
        self.logger = logger
    }

    /// Before the first connection: every code. Until a shared store answers, checkouts
    /// credit no code and `referral` answers `unavailable`.
    func load() async throws {
        try await follower.load()
        logger.info("affiliate codes loaded", metadata: ["codes": "\(directory.count)"])
    }

    /// A shared store: the changes other nodes make, every `refresh_ms`.
    func run() async {
        await follower.run()
    }

    // MARK: - HTTP

    /// Who may register codes: admins (any), merchants' order services (their own products).
    static func registrar(_ principal: Principal) -> AffiliateDirectory.Registrar? {
        switch principal.role {
        case .admin: return .admin
        case .orderService: return principal.merchant.map { .merchant($0) }
        default: return nil
        }
    }

    static let forbidden = HTTPResponse.error(
        .forbidden, .forbidden, "affiliate codes are registered by admins and by merchants' order services (role order_service, merchant claim)")

    /// `PUT /v1/affiliate-codes/{code}`.
    func register(_ name: String, body: [String: JSONValue]?, by registrar: AffiliateDirectory.Registrar, now: Int64) async -> HTTPResponse {
        guard let body else {
            return .error(.badRequest, .badRequest, "send a JSON object {owner, commission_bps, streams?, merchants?, host_default?, valid_from?, valid_until?}")
        }
        let registration: AffiliateCodeRegistration
        do throws(AffiliateCodeRegistration.Invalid) {
            registration = try AffiliateCodeRegistration.parse(body)
        } catch {
            return .error(.badRequest, .badRequest, error.message)
        }
        do {
            switch try await directory.register(name, registration, by: registrar, now: now) {
            case .success(let (code, created)): return .json(created ? .created : .ok, JSONText.encode(code.json))
            case .failure(let refusal): return Self.response(refusal)
            }
        } catch {
            logger.error("could not store an affiliate code", metadata: ["error": "\(error)"])
            return .error(.serviceUnavailable, .unavailable, "the code could not be stored; send it again")
        }
    }

    /// `DELETE /v1/affiliate-codes/{code}`.
    func revoke(_ name: String, by registrar: AffiliateDirectory.Registrar, now: Int64) async -> HTTPResponse {
        guard AffiliateCode.canonical(name) != nil else { return Self.badCode }
        do {
            switch try await directory.revoke(name, by: registrar, now: now) {
            case .success(let code): return .json(.ok, JSONText.encode(code.json))
            case .failure(let refusal): return Self.response(refusal)
            }
        } catch {
            logger.error("could not store an affiliate code", metadata: ["error": "\(error)"])
            return .error(.serviceUnavailable, .unavailable, "the code could not be stored; send it again")
        }
    }

    static let badCode = HTTPResponse.error(.badRequest, .badRequest, "a code is 3-32 of [A-Za-z0-9_-] (case does not matter)")

    /// `GET /v1/affiliate-codes/{code}`: a registrar sees its own codes only.
    func read(_ name: String, by registrar: AffiliateDirectory.Registrar) -> HTTPResponse {
        guard AffiliateCode.canonical(name) != nil else { return Self.badCode }
        guard let code = directory.code(name), registrar == .admin || code.registrar == registrar.name else {
            return .error(.notFound, code: "not_found", "no code '\(name)' of yours")
        }
        return .json(.ok, JSONText.encode(code.json))
    }

    /// `GET /v1/affiliate-codes?owner=&after=&limit=`: a page, by code.
    func list(owner: String?, after: String?, limit: Int, by registrar: AffiliateDirectory.Registrar) -> HTTPResponse {
        let limit = min(max(limit, 1), 1_000)
        var start: String?
        if let after {
            guard let canonical = AffiliateCode.canonical(after) else { return Self.badCode }
            start = canonical
        }
        let codes = directory.codes(owner: owner, registrar: registrar, after: start, limit: limit)
        var body: [String: JSONValue] = ["codes": .array(codes.map(\.json))]
        if codes.count == limit, let last = codes.last { body["next_after"] = .string(last.code) }
        return .json(.ok, JSONText.encode(.object(body)))
    }

    // MARK: - Earnings

    /// Who may read `influencer`'s earnings: the influencer (any signed-in role: a host's
    /// own codes pay it too) and admins.
    static func may(_ principal: Principal, readEarningsOf influencer: String) -> Bool {
        principal.role == .admin || (!principal.isAnonymous && principal.subject == influencer)
    }

    /// Timeline buckets: a minute at least, 31 days at most.
    static let bucketRange: ClosedRange<Int64> = 60_000...2_678_400_000

    /// `GET /v1/affiliates/{sub}/earnings?since=&until=&bucket_ms=`: what the influencer's
    /// codes earned, by status (revenue and commission of confirmed orders; pending and
    /// failed apart), by stream and code, by product, and over time.
    static func earnings(
        of influencer: String, query: (String) -> String?, orders: OrderDesk, now: Int64, logger: Logger
    ) async -> HTTPResponse {
        /// An absent parameter is its default; one that is no integer in `range` is refused.
        func bounded(_ name: String, _ range: ClosedRange<Int64>, default value: Int64) -> Int64? {
            guard let given = query(name) else { return value }
            guard let number = Int64(given), range.contains(number) else { return nil }
            return number
        }
        guard let since = bounded("since", 0...JSONValue.maxSafeInteger, default: 0),
            let until = bounded("until", 1...JSONValue.maxSafeInteger, default: min(now + 1, JSONValue.maxSafeInteger)), since < until,
            let bucket = bounded("bucket_ms", bucketRange, default: 60_000)
        else {
            return .error(
                .badRequest, .badRequest,
                "since and until are milliseconds since the Unix epoch (since < until); bucket_ms is \(bucketRange.lowerBound)-\(bucketRange.upperBound)")
        }
        let report: EarningsReport
        do {
            report = try await orders.earnings(of: influencer, since: since, until: until, bucketMilliseconds: bucket)
        } catch {
            logger.error("could not read earnings", metadata: ["error": "\(error)"])
            return .error(.serviceUnavailable, .unavailable, "the outbox could not be read")
        }
        return .json(.ok, JSONText.encode(json(report, influencer: influencer, since: since, until: until, bucket: bucket)))
    }

    /// Sums stay within 2^53 − 1: a client holds every number exactly.
    private static func safe(_ value: Int64) -> JSONValue { .int(min(max(value, 0), JSONValue.maxSafeInteger)) }

    static func json(_ report: EarningsReport, influencer: String, since: Int64, until: Int64, bucket: Int64) -> JSONValue {
        var totals: [String: [EarningsReport.Status: EarningsReport.Total]] = [:]
        for total in report.totals { totals[total.currency, default: [:]][total.status] = total }
        return [
            "influencer": .string(influencer), "since": .int(since), "until": .int(until), "bucket_ms": .int(bucket), "truncated": .bool(report.truncated),
            "totals": .array(
                totals.sorted { $0.key < $1.key }.map { currency, byStatus in
                    [
                        "currency": .string(currency), "units": safe(byStatus[.confirmed]?.quantity ?? 0),
                        "revenue": safe(byStatus[.confirmed]?.amount ?? 0), "commission": safe(byStatus[.confirmed]?.commission ?? 0),
                        "pending_revenue": safe(byStatus[.pending]?.amount ?? 0), "pending_commission": safe(byStatus[.pending]?.commission ?? 0),
                        "failed_revenue": safe(byStatus[.failed]?.amount ?? 0), "failed_commission": safe(byStatus[.failed]?.commission ?? 0),
                        "returned_units": safe(byStatus[.returned]?.quantity ?? 0), "returned_revenue": safe(byStatus[.returned]?.amount ?? 0),
                        "returned_commission": safe(byStatus[.returned]?.commission ?? 0),
                    ]
                }),
            "codes": .array(
                report.tallies.map {
                    [
                        "stream": .string($0.stream), "code": .string($0.code), "visits": safe($0.visits), "add_to_cart": safe($0.addToCart),
                        "checkouts": safe($0.checkouts), "confirmed_orders": safe($0.confirmedOrders), "failed_orders": safe($0.failedOrders),
                    ]
                }),
            "products": .array(
                report.groups.map {
                    [
                        "stream": .string($0.stream), "code": .string($0.code), "product": .string($0.product), "currency": .string($0.currency),
                        "status": .string($0.status.rawValue), "units": safe($0.quantity), "revenue": safe($0.amount), "commission": safe($0.commission),
                    ]
                }),
            "timeline": .array(
                report.timeline.map {
                    [
                        "start": safe($0.start), "stream": .string($0.stream), "currency": .string($0.currency), "status": .string($0.status.rawValue),
                        "units": safe($0.quantity), "revenue": safe($0.amount), "commission": safe($0.commission),
                    ]
                }),
        ]
    }

    private static func response(_ refusal: AffiliateDirectory.Refusal) -> HTTPResponse {
        switch refusal {
        case .invalid(let message): .error(.badRequest, .badRequest, message)
        case .taken(let message): .error(.conflict, code: "code_taken", message)
        case .conflict(let message): .error(.conflict, code: "conflict", message)
        case .notFound(let message): .error(.notFound, code: "not_found", message)
        case .full(let limit): .error(.conflict, .limitReached, "this gateway holds \(limit) codes (affiliates.max_codes)")
        }
    }
}
