/// The subscribers of one stream on one event loop: an array for fast iteration, with
/// an index so that removal is O(1) (a mass disconnect must not be quadratic).
struct SubscriberSet {
    private(set) var members: [any StreamSubscriber] = []
    private var indexByID: [ObjectIdentifier: Int] = [:]

    var isEmpty: Bool { members.isEmpty }
    var count: Int { members.count }

    @discardableResult
    mutating func insert(_ subscriber: any StreamSubscriber) -> Bool {
        let id = ObjectIdentifier(subscriber)
        guard indexByID[id] == nil else { return false }
        indexByID[id] = members.count
        members.append(subscriber)
        return true
    }

    @discardableResult
    mutating func remove(_ subscriber: any StreamSubscriber) -> Bool {
        guard let index = indexByID.removeValue(forKey: ObjectIdentifier(subscriber)) else { return false }
        let last = members.removeLast()
        if index < members.count {
            members[index] = last
            indexByID[ObjectIdentifier(last)] = index
        }
        return true
    }
}
