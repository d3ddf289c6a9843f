import HawkerHub
import HawkerWebSocket
import NIOCore
import NIOSSL

/// Everything `hawker serve` can be told. Every limit has a bounded default; the README
/// lists them all (`ConfigurationKeys` is the one table they come from).
public struct GatewayConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Event loops (threads) serving connections; 0 means one per core.
    public var eventLoops = 0
    public var dataDirectory = "./data"

    // TLS: both set turns on wss/https.
    public var tlsCertificatePath: String?
    public var tlsPrivateKeyPath: String?
    public var tlsMinimumVersion = TLSMinimumVersion.tls12
    /// TLS 1.2 suites (OpenSSL names, colon-separated): forward-secret AEAD only by
    /// default. TLS 1.3's suites are all forward-secret and not configurable.
    public var tlsCipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
    /// A TLS handshake not done after this long is dropped.
    public var tlsHandshakeTimeout = TimeAmount.seconds(10)

    // Authentication.
    public var jwtSecret: String?
    public var jwksPath: String?
    public var anonymousViewers = false
    /// Allowed `Origin` values for browser upgrades; empty allows any.
    public var allowedOrigins: [String] = []
    public var jwtLeewaySeconds = 0
    /// When set, tokens must carry this `iss` claim.
    public var jwtIssuer: String?

    // WebSocket transport.
    public var webSocket = WebSocketConnectionConfiguration(idleCloseCode: 4003, floodCloseCode: 4002)
    public var compressionEnabled = true
    public var compressionMinBytes = 512
    public var compressionLevel = 1

    // Sessions.
    public var connectTimeout = TimeAmount.seconds(10)
    public var maxSubscriptions = 16
    public var commandsPerSecond = 20
    public var commandBurst = 50
    public var publisherCommandsPerSecond = 1_000
    public var publisherCommandBurst = 2_000
    /// Invalid commands a connection may send (refilled at one per second) before 4502.
    public var errorBudget = 20
    /// Writes pile up past this many bytes before a channel reports itself unwritable.
    public var outboundHighWaterBytes = 256 * 1024
    /// SO_SNDBUF of each connection; 0 leaves the kernel's autotuning (up to
    /// net.ipv4.tcp_wmem's maximum, megabytes per socket on a slow reader).
    public var socketSendBufferBytes = 0
    /// First read buffer of a connection; it grows (to 64 KiB) for connections that read a
    /// lot. NIO keeps each connection's read buffer for reuse, so for idle viewers this is
    /// memory per connection.
    public var readBufferBytes = 512
    /// The one outbound budget of every connection: bytes queued for it (replies, pongs,
    /// HTTP responses, broadcasts) plus the coalesced state a backed-up viewer is owed.
    /// Past it a session is closed with 4001 and an HTTP connection is dropped.
    public var outboundBudgetBytes = 1024 * 1024
    /// A viewer backed up for this long is closed with 4001.
    public var slowConsumerTimeout = TimeAmount.seconds(30)
    public var maxConnections = 100_000

    /// Per-user quotas over all connections and loops.
    public var quotas = QuotaLimits()

    // HTTP.
    public var maxHTTPBodyBytes = 65_536
    /// Requests one HTTP connection may send per second (sustained) and at once; past
    /// them it gets 429 and is closed.
    public var httpRequestsPerSecond = 50
    public var httpRequestBurst = 100
    /// The time an HTTP connection has to send a complete request (an upgrade included),
    /// from its opening or its previous response; idle keep-alives close after it too.
    public var httpRequestTimeout = TimeAmount.seconds(10)
    /// Plain WebSocket upgrade requests are answered without NIO's HTTP pipeline
    /// (`FastUpgradeHandler`); off, every request goes through it.
    public var fastUpgrade = true
    /// Connections from one address that have not completed a request or upgrade yet;
    /// 0 for no bound (behind a proxy, where every client has the proxy's address).
    public var maxPendingPerAddress = 256

    // Hub.
    public var hub = HubConfiguration()

    // State that outlives the process.
    public enum StateStoreKind: String, Sendable, Hashable {
        /// Streams kept in `<data_dir>/state.sqlite` (or `statePath`): a restart brings them back.
        case sqlite
        /// Streams in memory only: a restart loses them.
        case memory
    }

    public var stateStore = StateStoreKind.sqlite
    /// The state file; nil means `<data_dir>/state.sqlite`.
    public var statePath: String?
    /// Archived streams are deleted from the state store this long after they were
    /// archived; nil keeps them.
    public var archiveRetentionMilliseconds: Int64? = 2_592_000_000
    /// How often archived streams and settled orders past their retention are deleted.
    public var retentionSweepInterval = TimeAmount.hours(1)

    // Cluster mode.
    /// Turns cluster mode on: streams, leases and the nodes' messages in this Redis (the
    /// state store is then Redis, whatever `stateStore` says). nil: one process.
    public var clusterRedisURL: String?
    /// This node's id in the cluster; nil: a random one per start.
    public var clusterNodeID: String?
    /// A stream's lease: a dead node's streams are taken over within about this long.
    public var clusterLeaseMilliseconds: Int64 = 5_000
    /// Prefix of the cluster's Redis keys and channels.
    public var clusterKeyPrefix = "hawker"

    // Checkout and orders.
    public var orders = OrdersConfiguration()
    public var affiliates = AffiliatesConfiguration()
    /// The outbox file; nil means `<data_dir>/orders.sqlite`.
    public var outboxPath: String?

    // Operations.
    /// Checkout traces (OpenTelemetry); off by default.
    public var tracing = TracingConfiguration()
    /// A second listener serving only `GET /metrics`, without a token (0: none; then
    /// `/metrics` on the main port needs an admin token).
    public var metricsPort = 0
    public var metricsHost = "127.0.0.1"
    /// How long a graceful shutdown waits for connections to close.
    public var drainTimeout = TimeAmount.seconds(10)
    /// How long a graceful shutdown keeps the listener open after it starts draining, so
    /// that a load balancer sees `/readyz` answer 503 and stops sending connections
    /// (0: the listener closes at once).
    public var drainGraceMilliseconds = 0
    /// Adds `/echo` (the Autobahn conformance target) on the same WebSocket pipeline.
    public var conformanceEcho = false
    public var logLevel = "info"
    public var logFormat = "text"

    public init() {}

    public var tlsEnabled: Bool { tlsCertificatePath != nil && tlsPrivateKeyPath != nil }
}

/// The oldest TLS version the gateway accepts.
public enum TLSMinimumVersion: String, Sendable, CaseIterable {
    case tls12 = "1.2"
    case tls13 = "1.3"

    var nioVersion: TLSVersion {
        switch self {
        case .tls12: return .tlsv12
        case .tls13: return .tlsv13
        }
    }
}
