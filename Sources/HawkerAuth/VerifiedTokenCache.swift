import Synchronization

/// Tokens verified before, until they expire: a viewer that reconnects (a node went away,
/// a phone changed networks) is let in without checking the signature again, and on
/// the event loop even when its key is a JWKS key. Bounded: when full, expired entries
/// go first, then (when that frees less than a quarter) all but an arbitrary half; tokens over `maxTokenBytes` are not kept, so the
/// cache holds at most `capacity` × 2 KiB of tokens.
final class VerifiedTokenCache: Sendable {
    static let maxTokenBytes = 2_048

    private struct Entry {
        var principal: Principal
        /// When the token stops being accepted (its `exp` plus the leeway), in seconds.
        var acceptedUntil: Double
    }

    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The principal of a token verified before that is still accepted at `now`.
    func principal(for token: String, now: Double) -> Principal? {
        entries.withLock { entries in
            guard let entry = entries[token] else { return nil }
            guard now < entry.acceptedUntil else {
                entries[token] = nil
                return nil
            }
            return entry.principal
        }
    }

    func insert(_ token: String, _ principal: Principal, acceptedUntil: Double, now: Double) {
        guard capacity > 0, token.utf8.count <= Self.maxTokenBytes else { return }
        entries.withLock { entries in
            if entries.count >= capacity, entries[token] == nil {
                // A sweep leaves at least a quarter free, so that sweeps stay rare.
                entries = entries.filter { $0.value.acceptedUntil > now }
                if entries.count > capacity * 3 / 4 {
                    var kept = 0
                    entries = entries.filter { _ in
                        kept += 1
                        return kept <= capacity / 2
                    }
                }
            }
            entries[token] = Entry(principal: principal, acceptedUntil: acceptedUntil)
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
