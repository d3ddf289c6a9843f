/// Why a `StateStore` refused a change or could not read what it holds.
public struct StateStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A change names a stream the store does not hold (never created, or removed).
        case unknownStream
        /// A change contradicts what is held (an event that is not after the last one).
        case conflict
        /// The store was closed.
        case closed
        /// What is held could not be read back.
        case corrupted
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
