import HawkerOrders
import HawkerProtocol

/// The outbox, the relay and where each merchant's orders go.
public struct OrdersConfiguration: Sendable {
    public enum DefaultBackend: String, Sendable {
        /// Confirm after `demoDelayMilliseconds`: the embedded default.
        case demo
        /// Dead-letter orders of merchants without their own backend.
        case none
    }

    public var defaultBackend = DefaultBackend.demo
    public var demoDelayMilliseconds = 300
    public var retry = RetryPolicy()
    public var breakerThreshold = 5
    public var breakerCooldownMilliseconds: Int64 = 30_000
    public var maxInFlight = 256
    /// Stored notices a buyer's new connection is sent at once; more follow on the next.
    public var noticesPerConnection = 500
    /// Settled orders an order service may ask to have replayed in one `orders.subscribe`.
    public var maxReplays = 10_000
    /// Settled orders, their checkouts (and idempotency keys) and buyers' notices are
    /// deleted from the outbox this long after they settled or were made.
    public var retentionMilliseconds: Int64 = 2_592_000_000
    /// A PostgreSQL outbox shared by a cluster's nodes instead of the SQLite file.
    public var sharedOutboxURL: String?
    public var sharedOutboxSchema = "hawker"
    /// On a shared outbox: how long a relay's claim on a delivery lasts.
    public var claimMilliseconds: Int64 = 60_000
    /// Backends by merchant id (`merchants.<id>.*` keys).
    public var merchants: [String: MerchantBackendConfiguration] = [:]

    public init() {}
}

/// One merchant's backend, from the `merchants.<id>.*` keys.
public struct MerchantBackendConfiguration: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case demo
        case webhook
        case postgres
        case orderService = "order_service"
    }

    /// nil: `orders.default_backend` (an entry that only sets `stock`).
    public var kind: Kind?
    /// Webhook: where to POST, and the HMAC secret.
    public var url: String?
    public var secret: String?
    public var timeoutMilliseconds = 5_000
    /// PostgreSQL: postgres://user:password@host:port/database
    public var postgresURL: String?
    /// Order services: how long a delivery waits for its `ack` before it goes again.
    public var visibilityTimeoutMilliseconds = 30_000
    /// Who sets the levels of this merchant's products.
    public var stock = StockAuthority.shared

    public enum StockAuthority: String, Sendable, Hashable, CaseIterable {
        /// Hosts (a catalog's `stock`, `stock.changed`) and the merchant's inventory API.
        case shared
        /// The merchant's inventory API alone: hosts' levels are refused or ignored.
        case merchant
    }

    public init(kind: Kind? = .demo) {
        self.kind = kind
    }

    /// The fields `merchants.<id>.<field>` sets, for the README.
    static let fields: [(name: String, summary: String)] = [
        ("backend", "demo, webhook, postgres or order_service"),
        ("url", "webhook: the URL orders are POSTed to"),
        ("secret", "webhook: HMAC-SHA256 key for Hawker-Signature (at least 16 bytes)"),
        ("timeout_ms", "webhook and postgres: how long one delivery may take (default 5000)"),
        ("postgres_url", "postgres: postgres://user:password@host:port/database"),
        ("visibility_timeout_ms", "order_service: an unacknowledged delivery goes again after this long (default 30000)"),
        ("stock", "shared (default: hosts and the merchant's inventory API set levels) or merchant (its API alone; hosts' stock.changed is forbidden)"),
    ]

    /// Applies `merchants.<id>.<field>` = `value`.
    static func apply(key: String, value: String, to orders: inout OrdersConfiguration) throws(ConfigurationError) {
        let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "merchants", Identifier.isValid(parts[1]) else {
            throw ConfigurationError(description: "merchant keys look like merchants.<merchant id>.<field>, got '\(key)'")
        }
        var merchant = orders.merchants[parts[1]] ?? MerchantBackendConfiguration(kind: nil)
        func milliseconds() throws(ConfigurationError) -> Int {
            guard let number = Int(value), (1...3_600_000).contains(number) else {
                throw ConfigurationError(description: "\(key) must be milliseconds in 1...3600000, got '\(value)'")
            }
            return number
        }
        switch parts[2] {
        case "backend":
            guard let kind = Kind(rawValue: value) else {
                throw ConfigurationError(description: "\(key) must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(value)'")
            }
            merchant.kind = kind
        case "url": merchant.url = value
        case "secret": merchant.secret = value
        case "timeout_ms": merchant.timeoutMilliseconds = try milliseconds()
        case "postgres_url": merchant.postgresURL = value
        case "visibility_timeout_ms": merchant.visibilityTimeoutMilliseconds = try milliseconds()
        case "stock":
            guard let authority = StockAuthority(rawValue: value) else {
                throw ConfigurationError(description: "\(key) must be shared or merchant, got '\(value)'")
            }
            merchant.stock = authority
        default:
            throw ConfigurationError(description: "unknown merchant field '\(parts[2])' in '\(key)'; fields: \(fields.map(\.name).joined(separator: ", "))")
        }
        orders.merchants[parts[1]] = merchant
    }

    /// Checks that the backend has what it needs.
    func validate(merchant: String) throws(ConfigurationError) {
        switch kind {
        case .webhook:
            guard let url, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigurationError(description: "merchants.\(merchant).url must be an http(s) URL for a webhook backend")
            }
            guard let secret, secret.utf8.count >= 16 else {
                throw ConfigurationError(description: "merchants.\(merchant).secret must be at least 16 bytes for a webhook backend")
            }
        case .postgres:
            guard postgresURL != nil else {
                throw ConfigurationError(description: "merchants.\(merchant).postgres_url is required for a postgres backend")
            }
        case .demo, .orderService, nil:
            break
        }
    }
}
