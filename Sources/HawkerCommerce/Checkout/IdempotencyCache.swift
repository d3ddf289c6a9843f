/// The first answer to each (buyer, idempotency key), so a retried checkout gets that
/// answer again instead of a second checkout. Bounded: the oldest keys are forgotten
/// first (a retry that late is a new checkout).
struct IdempotencyCache<Value: Sendable>: Sendable {
    private struct Key: Hashable, Sendable {
        var buyer: String
        var key: String
    }

    private var values: [Key: Value] = [:]
    private var order: [Key] = []
    private var head = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    func value(buyer: String, key: String) -> Value? {
        values[Key(buyer: buyer, key: key)]
    }

    mutating func store(_ value: Value, buyer: String, key: String) {
        let entry = Key(buyer: buyer, key: key)
        guard values.updateValue(value, forKey: entry) == nil else { return }
        order.append(entry)
        if values.count > capacity {
            values[order[head]] = nil
            head += 1
            // Compact now and then instead of shifting the array on every eviction.
            if head > capacity {
                order.removeFirst(head)
                head = 0
            }
        }
    }

    /// Forgets an answer (a checkout that could not be recorded: a retry must run again).
    /// Its place in the eviction order stays; at worst a re-stored key is evicted early.
    mutating func remove(buyer: String, key: String) {
        values[Key(buyer: buyer, key: key)] = nil
    }

    var count: Int { values.count }
}
