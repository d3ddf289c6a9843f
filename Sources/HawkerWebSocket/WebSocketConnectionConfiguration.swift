import NIOCore

/// Limits and timers of one WebSocket connection.
public struct WebSocketConnectionConfiguration: Sendable {
    /// The largest data message accepted, after reassembly and inflation (close 1009 beyond).
    public var maxMessageBytes: Int
    /// How often the server pings a connection it has heard nothing from.
    public var pingInterval: TimeAmount
    /// A connection silent for this long (no frame, not even a pong) is closed.
    public var idleTimeout: TimeAmount
    /// The close code used for idle connections.
    public var idleCloseCode: UInt16
    /// How long to wait for the peer's close frame before dropping the TCP connection.
    public var closeTimeout: TimeAmount
    /// Pings and pongs a peer may send per second, sustained; each ping costs a pong.
    public var controlFramesPerSecond: Int
    /// Pings and pongs a peer may send at once.
    public var controlFrameBurst: Int
    /// The close code for a peer that sends control frames faster than that.
    public var floodCloseCode: UInt16

    public init(
        maxMessageBytes: Int = 65_536,
        pingInterval: TimeAmount = .seconds(25),
        idleTimeout: TimeAmount = .seconds(60),
        idleCloseCode: UInt16 = 1001,
        closeTimeout: TimeAmount = .seconds(5),
        controlFramesPerSecond: Int = 10,
        controlFrameBurst: Int = 50,
        floodCloseCode: UInt16 = 1008
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.pingInterval = pingInterval
        self.idleTimeout = idleTimeout
        self.idleCloseCode = idleCloseCode
        self.closeTimeout = closeTimeout
        self.controlFramesPerSecond = controlFramesPerSecond
        self.controlFrameBurst = controlFrameBurst
        self.floodCloseCode = floodCloseCode
    }
}
