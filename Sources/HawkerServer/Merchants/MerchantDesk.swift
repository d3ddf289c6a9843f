import HawkerAuth
import HawkerHub
import HawkerOrders
import HawkerProtocol
import Logging
import NIOConcurrencyHelpers
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Merchants registered at run time, put together: the directory rooms read terms from,
/// its store beside the outbox, the HTTP API admins register merchants with
/// (`/v1/merchants`), and what a change sets in motion: the relay's route to the
/// merchant's backend (a PostgreSQL backend's pool run here) and who sets its stock.
final class MerchantDesk: Sendable {
    let directory: MerchantDirectory
    private let follower: StoreFollower
    private let orders: OrderDesk
    private let inventory: InventoryLedger?
    private let logger: Logger
    /// Backends put in force at run time, and their pools. Its lock also makes each
    /// change's application whole (read, route, pool) before the next.
    private struct Pools {
        /// The settings each merchant's route was last made from.
        var backends: [String: MerchantBackendConfiguration] = [:]
        /// Pools of backends made here, by merchant.
        var running: [String: Task<Void, Never>] = [:]
        /// Replaced pools, stopped after a grace.
        var retiring: [Int: Task<Void, Never>] = [:]
        var nextRetiring = 0
    }

    private let pools = Mutex(Pools())

    /// The directory, before the rooms and the orders layer that read it.
    static func directory(configuration: GatewayConfiguration, outboxPath: String, logger: Logger) throws -> (MerchantDirectory, (any Service)?) {
        let (store, service) = try RegistryStore.open(.merchants, of: MerchantProfile.self, configuration: configuration, outboxPath: outboxPath, logger: logger)
        return (MerchantDirectory(store: store, configured: configuration.orders.merchants), service)
    }

    init(
        directory: MerchantDirectory, storeService: (any Service)?, refresh: Duration, orders: OrderDesk, inventory: InventoryLedger?, logger: Logger
    ) {
        self.directory = directory
        self.orders = orders
        self.inventory = inventory
        self.logger = logger
        let changed = NIOLockedValueBox<(merchants: [String], readAsOf: Int64?)>(([], nil))
        let clock = orders.clock
        // On a shared store, other nodes' merchants are known only as of the last read.
        if storeService != nil {
            orders.relay.routesAreCurrent(asOf: 0)
            // Two reads' time: past it, the fallback (a registry that cannot be read does
            // not hold orders until they are given up on).
            let (seconds, attoseconds) = refresh.components
            orders.relay.waitForRoutes(atMost: 2 * (seconds * 1_000 + attoseconds / 1_000_000_000_000_000) + 1_000)
        }
        follower = StoreFollower("merchants", storeService: storeService, interval: refresh, logger: logger) {
            let began = clock()
            let read = try await directory.refresh()
            changed.withLockedValue { $0 = ($0.merchants + read.changed, began) }
            return read.undecodable
        }
        self.changed = changed
    }

    /// Merchants the store said changed, not yet put in force, and when the read that
    /// found them began.
    private let changed: NIOLockedValueBox<(merchants: [String], readAsOf: Int64?)>

    /// Before the first connection: every registered merchant, in force.
    func load() async throws {
        try await follower.load()
        applyChanged()
        logger.info("merchants loaded", metadata: ["registered": "\(directory.profiles(after: nil, limit: .max).filter(\.isActive).count)"])
    }

    /// A shared store: other nodes' changes, every refresh; the pools stop when this does.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.follower.run() }
            group.addTask {
                while !Task.isCancelled {
                    self.applyChanged()
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        let tasks = pools.withLock { pools in
            defer { pools = Pools() }
            return Array(pools.running.values) + Array(pools.retiring.values)
        }
        for task in tasks {
            task.cancel()
            await task.value
        }
    }

    private func applyChanged() {
        let (merchants, readAsOf) = changed.withLockedValue { changed in
            defer { changed = ([], nil) }
            return changed
        }
        for merchant in merchants { apply(merchant) }
        // Only once applied: the relay may then send a new merchant's orders on.
        if let readAsOf, follower.isShared { orders.relay.routesAreCurrent(asOf: readAsOf) }
    }

    /// Puts `merchant`'s settings in force here: who sets its stock and, when its backend
    /// changed, the backend (a replaced backend's pool is stopped once deliveries already
    /// out on it have had their time).
    private func apply(_ merchant: String) {
        pools.withLock { pools in
            let settings = directory.backend(of: merchant)
            inventory?.setMerchantSetsStock(merchant, settings?.stock == .merchant)
            // Who sets the stock is not the backend's business: changing it keeps the backend.
            var key = settings ?? MerchantBackendConfiguration(kind: nil)
            key.stock = .shared
            // A change of name or terms leaves the backend (and its pool, its breaker) be.
            let previous = pools.backends[merchant]
            guard previous != key else { return }
            pools.backends[merchant] = key
            var backend: (any OrderBackend)?
            do {
                backend = try settings.flatMap {
                    try OrderBackends.backend(
                        for: merchant, $0, configuration: orders.configuration, orderServices: orders.orderServices.registry, demoAnswers: orders.demoAnswers,
                        logger: logger)
                }
            } catch {
                // Checked when registered: only a document written by a newer version gets here.
                logger.error("a merchant's backend could not be made; its orders go to the default", metadata: ["merchant": "\(merchant)", "error": "\(error)"])
            }
            orders.relay.route(merchant, to: backend)
            if let old = pools.running.removeValue(forKey: merchant) {
                // A delivery out on it ends within its timeout.
                let grace = Duration.milliseconds(Int64(previous?.timeoutMilliseconds ?? 5_000) + 1_000)
                let number = pools.nextRetiring
                pools.nextRetiring += 1
                pools.retiring[number] = Task {
                    try? await Task.sleep(for: grace)
                    old.cancel()
                    _ = self.pools.withLock { $0.retiring.removeValue(forKey: number) }
                }
            }
            if let service = backend?.service { pools.running[merchant] = Task { try? await service.run() } }
        }
    }

    // MARK: - HTTP

    /// `PUT /v1/merchants/{id}`: admins only (a backend is a URL and a secret the gateway calls).
    func register(_ id: String, body: [String: JSONValue]?, now: Int64) async -> HTTPResponse {
        guard Identifier.isValid(id) else { return Self.badID }
        guard let body else {
            return .error(.badRequest, .badRequest, "send a JSON object {name?, backend?, stock?, terms?, suppliers?}")
        }
        let registration: MerchantRegistration
        do throws(MerchantRegistration.Invalid) {
            registration = try MerchantRegistration.parse(body, id: id)
        } catch {
            return .error(.badRequest, .badRequest, error.message)
        }
        do {
            switch try await directory.register(id, registration, now: now) {
            case .success(let (profile, created)):
                apply(id)
                return .json(created ? .created : .ok, JSONText.encode(profile.publicJSON))
            case .failure(let refusal):
                return Self.response(refusal)
            }
        } catch {
            logger.error("could not store a merchant", metadata: ["error": "\(error)"])
            return .error(.serviceUnavailable, .unavailable, "the merchant could not be stored; send it again")
        }
    }

    /// `DELETE /v1/merchants/{id}`: its configuration (if any) is in force again.
    func remove(_ id: String, now: Int64) async -> HTTPResponse {
        guard Identifier.isValid(id) else { return Self.badID }
        do {
            switch try await directory.remove(id, now: now) {
            case .success(let profile):
                apply(id)
                return .json(.ok, JSONText.encode(profile.publicJSON))
            case .failure(let refusal):
                return Self.response(refusal)
            }
        } catch {
            logger.error("could not store a merchant", metadata: ["error": "\(error)"])
            return .error(.serviceUnavailable, .unavailable, "the merchant could not be stored; send it again")
        }
    }

    /// `GET /v1/merchants/{id}`: admins, and the merchant's own order service.
    func read(_ id: String, by principal: Principal) -> HTTPResponse {
        guard Identifier.isValid(id) else { return Self.badID }
        guard principal.role == .admin || (principal.role == .orderService && principal.merchant == id) else { return Self.forbidden }
        guard let profile = directory.profile(id), profile.isActive else {
            if directory.configured[id] != nil {
                return .json(.ok, JSONText.encode(["id": .string(id), "configured": true, "registered": false]))
            }
            return .error(.notFound, code: "not_found", "no merchant '\(id)' is registered or configured")
        }
        guard var object = profile.publicJSON.objectValue else { return .error(.internalServerError, .internalError, "unreadable") }
        object["configured"] = .bool(directory.configured[id] != nil)
        object["registered"] = .bool(profile.isActive)
        return .json(.ok, JSONText.encode(.object(object)))
    }

    /// `GET /v1/merchants?after=&limit=`: registered merchants (removed ones with
    /// `removed_at`), by id; admins only.
    func list(after: String?, limit: Int) -> HTTPResponse {
        let limit = min(max(limit, 1), 1_000)
        let profiles = directory.profiles(after: after, limit: limit)
        var body: [String: JSONValue] = ["merchants": .array(profiles.map(\.publicJSON))]
        if profiles.count == limit, let last = profiles.last { body["next_after"] = .string(last.id) }
        return .json(.ok, JSONText.encode(.object(body)))
    }

    static let forbidden = HTTPResponse.error(.forbidden, .forbidden, "merchants are registered by admins; a merchant's order service may read its own")
    static let badID = HTTPResponse.error(.badRequest, .badRequest, "a merchant id is 1-64 of [A-Za-z0-9_.:-], starting alphanumeric")

    private static func response(_ refusal: MerchantDirectory.Refusal) -> HTTPResponse {
        switch refusal {
        case .conflict(let message): .error(.conflict, code: "conflict", message)
        case .notFound(let message): .error(.notFound, code: "not_found", message)
        case .full(let limit): .error(.conflict, .limitReached, "this gateway holds \(limit) registered merchants")
        }
    }
}
