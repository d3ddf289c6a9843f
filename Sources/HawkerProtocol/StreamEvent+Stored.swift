import NIOCore

extension StreamEvent {
    /// Reads back an `event` message as the server wrote it (an event kept for resume);
    /// nil when `payload` is not one.
    public init?(storedPayload payload: ByteBuffer) {
        guard let value = try? JSONParser.parse(payload), let object = value.objectValue, object["type"]?.stringValue == "event",
            let stream = object["stream"]?.stringValue.flatMap(StreamID.init), let epoch = object["epoch"]?.stringValue,
            let seq = object["seq"]?.intValue, seq > 0, let timestamp = object["ts"]?.intValue,
            let kind = object["kind"]?.stringValue.flatMap(EventKind.init(rawValue:)), let data = object["data"]?.objectValue
        else { return nil }
        self.init(stream: stream, epoch: epoch, seq: UInt64(seq), timestamp: timestamp, draft: EventDraft(restoring: kind, data: data))
    }
}
