/// What became of a frame given to `WebSocketConnectionHandler.writeDirect`.
public enum DirectWrite: Equatable, Sendable {
    /// Not written: the close handshake started, or there is no writer.
    case refused
    /// Written behind frames that already wait for the writer's next flush.
    case written
    /// Written as the first frame since the writer's last flush: the caller sees to
    /// one `flushDirect()` for the batch.
    case startedBatch
}
