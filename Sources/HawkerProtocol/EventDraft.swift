/// An event a host wants published: its kind and validated data, not yet sequenced.
public struct EventDraft: Sendable, Hashable {
    public let kind: EventKind
    public let data: [String: JSONValue]
    /// The stream state slot this event overwrites; a late joiner's snapshot holds
    /// the latest event per key.
    public let stateKey: String

    /// Validates `data` for `kind`; see `EventValidator`.
    public init(kind: EventKind, data: [String: JSONValue]) throws(EventValidationError) {
        try EventValidator.validate(kind: kind, data: data)
        self.kind = kind
        self.data = data
        self.stateKey = EventValidator.stateKey(kind: kind, data: data)
    }

    /// Parses the `{kind, data}` object of a publish command or HTTP request.
    public init(kindName: String, data: JSONValue?) throws(EventValidationError) {
        guard let kind = EventKind(rawValue: kindName) else {
            throw EventValidationError(code: .unknownEventKind, message: "unknown event kind '\(kindName.prefix(64))'")
        }
        guard !kind.isServerGenerated else {
            throw EventValidationError(code: .invalidEvent, message: "'\(kind.rawValue)' events come from the server (see 'question.answer')")
        }
        guard let object = (data ?? .object([:])).objectValue else {
            throw EventValidationError(code: .invalidEvent, message: "event data must be a JSON object")
        }
        try self.init(kind: kind, data: object)
    }

    /// A copy with `data` replaced, for fields the server fills in (e.g. `previous` price).
    public func withData(_ data: [String: JSONValue]) -> EventDraft {
        EventDraft(unchecked: kind, data: data, stateKey: stateKey)
    }

    /// An event the server sequenced before (read back from its store): it was checked
    /// and completed then, so it is not validated again.
    public init(restoring kind: EventKind, data: [String: JSONValue]) {
        self.init(unchecked: kind, data: data, stateKey: EventValidator.stateKey(kind: kind, data: data))
    }

    /// An event the server makes itself (a level after a checkout), complete and valid by
    /// construction: not validated.
    public init(serverMade kind: EventKind, data: [String: JSONValue]) {
        self.init(unchecked: kind, data: data, stateKey: EventValidator.stateKey(kind: kind, data: data))
    }

    private init(unchecked kind: EventKind, data: [String: JSONValue], stateKey: String) {
        self.kind = kind
        self.data = data
        self.stateKey = stateKey
    }
}

public struct EventValidationError: Error, Sendable, Hashable {
    public let code: ErrorCode
    public let message: String
}
