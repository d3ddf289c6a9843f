import HarnessSupport
import HawkerCommerce
import HawkerProtocol
import NIOCore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// A stream's room driven by a sequence of operations, as the hub drives it, with an
/// injected clock. The input is JSON lines (at most 64 are read); each line is one
/// operation, chosen by the first of these keys it has:
///
///   {"event": {"kind": ..., "data": {...}}}         a host's event: EventDraft, then apply
///   {"checkout": {"items": [...], "region": ..., "idempotency_key": ...}, "user"?: ...}
///                                                   a viewer's checkout, decoded as the
///                                                   WebSocket command is
///   {"raw_checkout": {"lines": [{"product", "variant"?, "qty", "price_seen"}], "region", "key"}}
///                                                   a CheckoutRequest built directly, any Int64
///   {"command": {<a client command>}, "user"?: ..., "role"?: ...}
///                                                   chat, questions, intents, moderation,
///                                                   publish, checkout, via ClientCommand.decode
///   {"settle": {"checkout"?: id, "merchant"?: m, "confirmed": bool}}
///   {"abandon": id}                                 the outbox could not record a checkout
///   {"tick": ms}                                    the clock moves (checked; may step back
///                                                   up to an hour, as a wall clock can), then tick
///   {"viewers": n}
///
/// Each sequence runs twice: default limits with checkouts of pinned or on-sale products
/// only, and tiny limits (4 products, 2 pinned, 2 sales, 4 idempotency keys) with any
/// product buyable.
///
/// Must never trap. After every step: every product's price, previous price, variant
/// prices, stock and threshold within 0...2^53 − 1; sales end after they start and stay
/// within 0...2^53 − 1; every accepted reservation
/// has non-nil totals within 0...2^53 − 1; every number sent to clients (events, replies,
/// pushes, rejections, the state and insights) is an integer within ±(2^53 − 1); the state
/// written as JSON parses back to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCommerceSequence(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let bytes = input.rest()
    var operations: [[String: JSONValue]] = []
    for line in bytes.split(separator: UInt8(ascii: "\n")).prefix(64) {
        if let object = (try? JSONParser.parse(ByteBuffer(bytes: line), maxDepth: 16))?.objectValue { operations.append(object) }
    }
    guard !operations.isEmpty else { return 0 }

    var defaults = RoomConfiguration()
    defaults.checkoutPolicy = .pinnedOrOnSale
    var tiny = RoomConfiguration(commerce: .init(maxProducts: 4, maxPinned: 2, maxSales: 2))
    tiny.checkoutPolicy = .anyInCatalog
    tiny.idempotencyKeys = 4
    for configuration in [defaults, tiny] {
        var simulation = Simulation(configuration: configuration)
        for operation in operations {
            simulation.perform(operation)
            simulation.checkInvariants()
        }
    }
    return 0
}

private let maxSafe = JSONValue.maxSafeInteger

private struct Simulation {
    var room: StreamRoom
    /// Server time, ms since the Unix epoch.
    var now: Int64 = 1_732_660_000_000
    /// A server clock this far out is not a real input: it keeps now plus the longest
    /// sale within 2^53 − 1.
    let latest: Int64
    var accepted: [String: Reservation] = [:]
    var open: Set<String> = []
    var lastCheckout: String?
    var checkoutCount = 0

    init(configuration: RoomConfiguration) {
        room = StreamRoom(configuration: configuration)
        latest = maxSafe - configuration.commerce.maxSaleDurationMilliseconds
    }

    mutating func perform(_ operation: [String: JSONValue]) {
        let user = operation["user"]?.stringValue ?? "u1"
        let role = operation["role"]?.stringValue ?? "viewer"
        if let event = operation["event"] {
            guard let kind = event["kind"]?.stringValue, let draft = try? EventDraft(kindName: kind, data: event["data"]) else { return }
            publish(draft)
        } else if let checkout = operation["checkout"]?.objectValue {
            var command = checkout
            command["type"] = "checkout"
            command["id"] = "c"
            command["stream"] = "s1"
            perform(command: .object(command), user: user, role: role)
        } else if let raw = operation["raw_checkout"] {
            let lines = (raw["lines"]?.arrayValue ?? []).compactMap { line -> CheckoutRequest.Line? in
                guard let product = line["product"]?.stringValue, case .int(let quantity)? = line["qty"],
                    case .int(let price)? = line["price_seen"]
                else { return nil }
                return CheckoutRequest.Line(product: product, variant: line["variant"]?.stringValue, quantity: quantity, priceSeen: price)
            }
            let request = CheckoutRequest(lines: lines, shipTo: raw["region"]?.stringValue.flatMap(Destination.init(region:)) ?? "DE", idempotencyKey: raw["key"]?.stringValue ?? "k")
            checkout(request, buyer: user)
        } else if let command = operation["command"] {
            perform(command: command, user: user, role: role)
        } else if let settle = operation["settle"] {
            guard let id = settle["checkout"]?.stringValue ?? lastCheckout else { return }
            let merchant = settle["merchant"]?.stringValue ?? accepted[id]?.merchants.first ?? "m1"
            let events = room.settle(checkoutID: id, merchant: merchant, confirmed: settle["confirmed"]?.boolValue ?? false, now: now)
            open.remove(id)
            for event in events { requireSafeIntegers(.object(event.data), "settle's stock event") }
        } else if let abandon = operation["abandon"] {
            // Only right after an accepted checkout, before anything settled it (the order
            // desk abandons when the outbox write fails).
            guard let id = abandon.stringValue ?? lastCheckout, open.contains(id), let reservation = accepted[id] else { return }
            open.remove(id)
            for event in room.abandon(reservation) { requireSafeIntegers(.object(event.data), "abandon's stock event") }
        } else if case .int(let milliseconds)? = operation["tick"] {
            let (next, overflow) = now.addingReportingOverflow(milliseconds)
            guard !overflow, milliseconds >= -3_600_000, (0...latest).contains(next) else { return }
            now = next
            let tick = room.tick(now: now)
            for event in tick.events { requireSafeIntegers(.object(event.data), "tick's \(event.kind.rawValue)") }
            for push in tick.pushes { requireSafeIntegers(.object(push.body), "tick's \(push.type) push") }
        } else if case .int(let viewers)? = operation["viewers"] {
            room.viewersChanged(to: Int(max(0, min(viewers, 10_000_000))))
        }
    }

    private mutating func publish(_ draft: EventDraft) {
        guard let applied = try? room.apply(draft, now: now) else { return }
        requireSafeIntegers(.object(applied.data), "\(applied.kind.rawValue) as published")
    }

    private mutating func perform(command: JSONValue, user: String, role: String) {
        var frame = ByteBuffer()
        command.write(into: &frame)
        guard let decoded = try? ClientCommand.decode(frame) else { return }
        switch decoded {
        case .publish(_, _, let draft):
            publish(draft)
        case .checkout(_, _, let request):
            checkout(request, buyer: user)
        case .stream(_, _, let action):
            let author = Author(user: user, name: nil, role: role, isStaff: ["host", "moderator", "admin"].contains(role))
            switch room.perform(action, by: author, now: now) {
            case .success(let reply):
                requireSafeIntegers(.object(reply.body), "\(reply.type) reply")
                if let event = reply.event { requireSafeIntegers(.object(event.data), "\(event.kind.rawValue) from a command") }
            case .failure(let error):
                if let retry = error.retryAfterMilliseconds { require((0...maxSafe).contains(retry), "retry_after_ms \(retry)") }
            }
        default:
            break
        }
    }

    private mutating func checkout(_ request: CheckoutRequest, buyer: String) {
        checkoutCount += 1
        let id = "co\(checkoutCount)"
        let outcome = room.checkout(request, buyer: buyer, checkoutID: id, now: now)
        for event in outcome.stockEvents { requireSafeIntegers(.object(event.data), "checkout's stock event") }
        switch outcome.result {
        case .success(let reservation):
            guard let totals = reservation.totals else { fatalError("an accepted checkout without totals: \(reservation)") }
            for total in totals { require((0...maxSafe).contains(total.amount), "total \(total.amount) \(total.currency)") }
            for line in reservation.lines {
                require((1...CheckoutRequest.maxQuantity).contains(line.quantity), "reserved quantity \(line.quantity)")
                require((0...maxSafe).contains(line.unitPrice), "reserved unit price \(line.unitPrice)")
            }
            if !outcome.replayed, reservation.checkoutID == id {
                accepted[id] = reservation
                open.insert(id)
                lastCheckout = id
            }
        case .failure(let rejection):
            if let price = rejection.currentPrice { require((0...maxSafe).contains(price), "rejection's current price \(price)") }
            if let available = rejection.available { require((0...maxSafe).contains(available), "rejection's available \(available)") }
        }
    }

    func checkInvariants() {
        let commerce = room.commerce
        for product in commerce.catalog.all {
            require((0...maxSafe).contains(product.price), "price of \(product.id): \(product.price)")
            if let stock = product.stock { require((0...maxSafe).contains(stock), "stock of \(product.id): \(stock)") }
            if let previous = product.previousPrice { require((0...maxSafe).contains(previous), "previous price of \(product.id): \(previous)") }
            require((0...maxSafe).contains(product.lowStockThreshold), "low stock threshold of \(product.id)")
            for variant in product.variants {
                if let price = variant.price { require((0...maxSafe).contains(price), "price of \(product.id)/\(variant.id): \(price)") }
            }
        }
        require(commerce.pinned.count <= commerce.limits.maxPinned, "\(commerce.pinned.count) pinned")
        require(commerce.pinned.allSatisfy { commerce.catalog[$0] != nil }, "a pinned product not in the catalog")
        require(commerce.sales.count <= commerce.limits.maxSales, "\(commerce.sales.count) sales")
        for sale in commerce.sales.values {
            require(sale.endsAt > sale.startsAt, "sale \(sale.id) ends at \(sale.endsAt), before it starts at \(sale.startsAt)")
            // Not checked: endsAt - startsAt <= maxSaleDurationMilliseconds. A scheduled sale
            // started early (`sale.started {sale}`) keeps its end, as PROTOCOL.md says, so it
            // may run longer than sales.max_duration_ms.
            require((0...maxSafe).contains(sale.startsAt) && (0...maxSafe).contains(sale.endsAt), "sale \(sale.id) from \(sale.startsAt) to \(sale.endsAt)")
            require(sale.sold >= 0, "sale \(sale.id) sold \(sale.sold)")
            if let limit = sale.totalLimit { require(sale.sold <= limit, "sale \(sale.id) sold \(sale.sold) of \(limit)") }
            for item in sale.items {
                require((0...maxSafe).contains(item.price) && item.price <= item.regularPrice, "sale price \(item.price) of \(item.product)")
            }
        }
        require(room.heldCheckouts <= accepted.count, "\(room.heldCheckouts) held, \(accepted.count) accepted")
        let state = room.stateJSON(now: now)
        requireSafeIntegers(state, "the state")
        requireWriterRoundTrip(state, "the state")
        requireSafeIntegers(room.insightsJSON(now: now), "the insights")
        _ = room.needsTick(now: now)
        _ = room.hasScheduledWork
    }
}
