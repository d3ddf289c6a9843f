import HawkerHub
import HawkerWebSocket
import NIOCore

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

    // HTTP.
    public var maxHTTPBodyBytes = 65_536
    /// Requests one HTTP connection may send per second (sustained) and at once; past
    /// them it gets 429 and is closed.
    public var httpRequestsPerSecond = 50
    public var httpRequestBurst = 100

    // Hub.
    public var hub = HubConfiguration()

    // Checkout and orders.
    public var orders = OrdersConfiguration()
    /// The outbox file; nil means `<data_dir>/orders.sqlite`.
    public var outboxPath: String?

    // Operations.
    /// How long a graceful shutdown waits for connections to close.
    public var drainTimeout = TimeAmount.seconds(10)
    /// Adds `/echo` (the Autobahn conformance target) on the same WebSocket pipeline.
    public var conformanceEcho = false
    public var logLevel = "info"
    public var logFormat = "text"

    public init() {}

    public var tlsEnabled: Bool { tlsCertificatePath != nil && tlsPrivateKeyPath != nil }
}
