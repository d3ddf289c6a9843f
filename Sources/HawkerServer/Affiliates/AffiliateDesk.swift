import Foundation
import HawkerAuth
import HawkerOrders
import HawkerProtocol
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Influencer codes, put together: the directory the rooms credit checkouts from, its
/// store beside the outbox (the SQLite file, or a cluster's shared PostgreSQL), and the
/// HTTP API admins and merchants register codes with (`/v1/affiliate-codes`).
final class AffiliateDesk: Sendable {
    let directory: AffiliateDirectory
    /// The shared store's connection pool, run beside the gateway; nil for the SQLite file.
    private let storeService: (any Service)?
    private let refreshInterval: Duration
    private let logger: Logger

    init(configuration: GatewayConfiguration, outboxPath: String, logger: Logger) throws {
        let settings = configuration.affiliates
        let store: any AffiliateCodeStore
        if let url = configuration.orders.sharedOutboxURL {
            let shared = try PostgresAffiliateCodeStore(url: url, schema: configuration.orders.sharedOutboxSchema, logger: logger)
            store = shared
            storeService = shared
        } else {
            try FileManager.default.createDirectory(atPath: (outboxPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            store = try SQLiteAffiliateCodeStore(path: outboxPath)
            storeService = nil
        }
        let secret: String
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
        refreshInterval = .milliseconds(settings.refreshMilliseconds)
        self.logger = logger
    }

    /// Before the first connection: the codes of a local store (a shared one is read by `run`).
    func load() async throws {
        guard storeService == nil else { return }
        let count = try await directory.refresh()
        logger.info("affiliate codes loaded", metadata: ["codes": "\(count)"])
    }

    /// A shared store: its pool, and the changes other nodes make, every `refresh_ms`.
    func run() async {
        guard let storeService else { return }
        await withDiscardingTaskGroup { group in
            group.addTask { try? await storeService.run() }
            group.addTask {
                var failing = false
                while !Task.isCancelled {
                    do {
                        try await self.directory.refresh()
                        failing = false
                    } catch {
                        if !failing { self.logger.error("could not read the affiliate codes; retrying", metadata: ["error": "\(error)"]) }
                        failing = true
                    }
                    try? await Task.sleep(for: self.refreshInterval)
                }
            }
        }
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

    /// `GET /v1/affiliate-codes/{code}`: a registrar sees its own codes only.
    func read(_ name: String, by registrar: AffiliateDirectory.Registrar) -> HTTPResponse {
        guard let code = directory.code(name), registrar == .admin || code.registrar == registrar.name else {
            return .error(.notFound, code: "not_found", "no code '\(name)' of yours")
        }
        return .json(.ok, JSONText.encode(code.json))
    }

    /// `GET /v1/affiliate-codes?owner=&after=&limit=`: a page, by code.
    func list(owner: String?, after: String?, limit: Int, by registrar: AffiliateDirectory.Registrar) -> HTTPResponse {
        let limit = min(max(limit, 1), 1_000)
        let codes = directory.codes(owner: owner, registrar: registrar, after: after.flatMap(AffiliateCode.canonical), limit: limit)
        var body: [String: JSONValue] = ["codes": .array(codes.map(\.json))]
        if codes.count == limit, let last = codes.last { body["next_after"] = .string(last.code) }
        return .json(.ok, JSONText.encode(.object(body)))
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
