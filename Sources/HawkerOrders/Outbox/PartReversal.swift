import HawkerCommerce
import HawkerProtocol
import NIOCore

/// A merchant takes back units of its confirmed part of a checkout: a cancellation before
/// shipment or a return. Recorded once per `id` (the merchant's return number; a retry
/// with the same id changes nothing), with the influencer's commission on those units
/// taken back in the same commit, and the stock put back where the merchant says so.
public struct PartReversal: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case cancelled
        case returned
    }

    /// Units of one line, as the merchant's update names them.
    public typealias Item = OrderStatusUpdate.Reversal.Item

    public var checkoutID: String
    public var merchant: String
    public var id: String
    public var kind: Kind
    /// nil: every unit of the part not taken back yet.
    public var items: [Item]?
    /// Whether the units go back into stock.
    public var restock: Bool
    /// The buyer's `order.status` fields (the merchant's update): stored in the same
    /// commit, with the units taken back added as `items`.
    public var noticeBody: [String: JSONValue]
    /// The buyer's request it accepts (`BuyerRequest.id`), if any: its kind must match,
    /// and its units are taken back when `items` is nil.
    public var request: String?

    public init(
        checkoutID: String, merchant: String, id: String, kind: Kind, items: [Item]?, restock: Bool, noticeBody: [String: JSONValue] = [:],
        request: String? = nil
    ) {
        self.request = request
        self.noticeBody = noticeBody
        self.checkoutID = checkoutID
        self.merchant = merchant
        self.id = id
        self.kind = kind
        self.items = items
        self.restock = restock
    }

    /// The suppliers whose every unit of this seller's lines a cancellation takes back (with
    /// the `earlier` reversals): their shipments, if not sent yet, are not to be sent.
    static func cancelledSuppliers(lines: [Reservation.Line], seller: String, earlier: [[Int: Int64]], units: [Int: Int64]) -> [String] {
        var left: [String: Int64] = [:]
        for (index, line) in lines.enumerated() where line.merchant == seller {
            guard let supplier = line.supplier?.merchant else { continue }
            let taken = (earlier + [units]).reduce(Int64(0)) { $0 + ($1[index] ?? 0) }
            left[supplier, default: 0] += max(0, line.quantity - taken)
        }
        return left.filter { $0.value == 0 }.keys.sorted()
    }

    /// The suppliers some of whose units of this seller's lines a cancellation takes back,
    /// but not all (with the `earlier` reversals): their shipments, if not sent yet, are
    /// to ship less (`withdrawn`).
    static func partlyCancelledSuppliers(lines: [Reservation.Line], seller: String, earlier: [[Int: Int64]], units: [Int: Int64]) -> [String] {
        let touched = Set(units.keys.compactMap { lines.indices.contains($0) && lines[$0].merchant == seller ? lines[$0].supplier?.merchant : nil })
        return touched.subtracting(cancelledSuppliers(lines: lines, seller: seller, earlier: earlier, units: units)).sorted()
    }

    /// The units of `supplier`'s lines for `seller` that `cancellations` took back, per
    /// line index, at most each line's quantity: what its shipment no longer carries.
    static func withdrawn(lines: [Reservation.Line], seller: String, supplier: String, cancellations: [[Int: Int64]]) -> [Int: Int64] {
        var units: [Int: Int64] = [:]
        for (index, line) in lines.enumerated() where line.merchant == seller && line.supplier?.merchant == supplier {
            let taken = cancellations.reduce(Int64(0)) { $0 + ($1[index] ?? 0) }
            if taken > 0 { units[index] = min(taken, line.quantity) }
        }
        return units
    }

    /// Why a shipment cancelled with its sale is not sent.
    static let cancelledShipment = "the seller cancelled the order before it was sent"

    /// How a supplier's refusal is kept (`OrderRelay`): a shipment that surely did not go.
    public static let refusedBySupplier = "refused by the supplier: "

    /// The units each of the part's lines gives back (by line index in the checkout),
    /// from what is left after `earlier` reversals: an error message when an item is not
    /// in the part or asks for more than is left. `asking`: for a buyer's request (whose
    /// `earlier` hold the open requests too).
    static func plan(lines: [Reservation.Line], merchant: String, earlier: [[Int: Int64]], items: [Item]?, asking: Bool = false) -> Result<[Int: Int64], Refusal> {
        var left: [Int: Int64] = [:]
        for (index, line) in lines.enumerated() where line.merchant == merchant { left[index] = line.quantity }
        for reversal in earlier {
            for (index, quantity) in reversal { left[index] = max(0, (left[index] ?? 0) - quantity) }
        }
        guard let items else {
            let all = left.filter { $0.value > 0 }
            let done = asking ? "taken back or asked for" : "taken back"
            return all.isEmpty ? .failure(.invalid("every unit of this order was \(done) already")) : .success(all)
        }
        var units: [Int: Int64] = [:]
        for item in items {
            guard let index = lines.indices.first(where: { lines[$0].merchant == merchant && lines[$0].product == item.product && lines[$0].variant == item.variant })
            else {
                return .failure(.invalid("'\(item.product)'\(item.variant.map { " (\($0))" } ?? "") is not in this order of merchant '\(merchant)'"))
            }
            let (wanted, overflow) = (units[index] ?? 0).addingReportingOverflow(item.quantity)
            guard !overflow, item.quantity > 0, wanted <= (left[index] ?? 0) else {
                return .failure(.invalid("'\(item.product)': \(left[index] ?? 0) left to \(asking ? "ask for" : "take back")"))
            }
            units[index] = wanted
        }
        return .success(units)
    }

    /// The buyer's notice of a reversal just recorded: `noticeBody` with the units taken
    /// back as `items` ([{product, variant?, qty}]).
    func notice(lines: [Reservation.Line], units: [Int: Int64], buyer: String, stream: StreamID, now: Int64) -> OrderNotice {
        let items: [JSONValue] = units.sorted { $0.key < $1.key }.compactMap { index, quantity in
            guard lines.indices.contains(index) else { return nil }
            var item: [String: JSONValue] = ["product": .string(lines[index].product), "qty": .int(quantity)]
            if let variant = lines[index].variant { item["variant"] = .string(variant) }
            return .object(item)
        }
        var body = noticeBody
        body["items"] = .array(items)
        return OrderNotice(buyer: buyer, checkoutID: checkoutID, stream: stream, type: .orderStatus, body: body, createdAt: now)
    }

    /// Whether this request is a retry of the recorded one (`units`, `restock`): the same
    /// units when it names items, and the same restock. Another return under a used id is
    /// refused rather than answered as done.
    func repeats(units recorded: [Int: Int64], restock recordedRestock: Bool, lines: [Reservation.Line]) -> Bool {
        guard restock == recordedRestock else { return false }
        guard let items else { return true }
        var asked: [Int: Int64] = [:]
        for item in items {
            guard let index = lines.indices.first(where: { lines[$0].merchant == merchant && lines[$0].product == item.product && lines[$0].variant == item.variant })
            else { return false }
            asked[index, default: 0] += item.quantity
        }
        return asked == recorded
    }

    /// Stored: `{"<line index>": units}`.
    static func encode(_ units: [Int: Int64]) -> String {
        String(buffer: JSONText.encode(.object(Dictionary(uniqueKeysWithValues: units.map { (String($0.key), JSONValue.int($0.value)) }))))
    }

    /// Only what a line can hold is read (a line index of a checkout, 1 to
    /// `CheckoutRequest.maxQuantity` units): the sums over stored reversals, requests and
    /// withdrawals stay far from overflowing whatever a row holds.
    static func decode(_ text: String) -> [Int: Int64] {
        var units: [Int: Int64] = [:]
        for (key, value) in OutboxCoding.decodeNoticeBody(text) {
            guard let index = Int(key), (0..<CheckoutRequest.maxLines).contains(index), let quantity = value.intValue,
                (1...CheckoutRequest.maxQuantity).contains(quantity)
            else { continue }
            units[index] = quantity
        }
        return units
    }

    /// The request a reversal accepts, checked against the stored one: its units when the
    /// merchant names none (an error message when it is not open or not of this kind).
    func accepting(_ stored: (kind: String, status: String, units: String)?) -> Result<[Item]?, Refusal> {
        guard let request else { return .success(items) }
        guard let stored else { return .failure(.invalid("the buyer made no request '\(request)' of this order")) }
        guard stored.kind == (kind == .cancelled ? OrderRequest.Kind.cancel : .return).rawValue else {
            return .failure(.invalid("request '\(request)' asks for a \(stored.kind): answer it with \(kind == .cancelled ? "returned" : "cancelled")"))
        }
        guard BuyerRequest.Status(rawValue: stored.status)?.isOpen == true else {
            return .failure(.invalid("request '\(request)' was answered already (\(stored.status))"))
        }
        return .success(items)
    }

    /// Why a reversal was refused.
    public enum Refusal: Error, Sendable, Hashable {
        /// No such order of this merchant.
        case unknownPart
        /// The order is not confirmed (pending, rejected, given up on).
        case notConfirmed
        case invalid(String)
    }
}

/// What a recorded reversal took back: the units per line index, whether the stock is
/// still to be put back, and whether it had been recorded before (a retry).
public struct ReversalRecord: Sendable, Hashable {
    public var units: [Int: Int64]
    public var restockDue: Bool
    public var replayed: Bool
    /// The part's lines, for the stock and the buyer's notice.
    public var lines: [Reservation.Line]
    public var buyer: String
    public var stream: StreamID
    /// When the order was bought (its checkout's time).
    public var purchasedAt: Int64
    /// The buyer's notice, stored with the reversal (nil for a retry: told the first time).
    public var notice: OrderNotice?
    /// The buyer's notice that their request was accepted, stored with it.
    public var requestNotice: OrderNotice?

    public init(
        units: [Int: Int64], restockDue: Bool, replayed: Bool, lines: [Reservation.Line], buyer: String, stream: StreamID, purchasedAt: Int64,
        notice: OrderNotice? = nil
    ) {
        self.notice = notice
        self.purchasedAt = purchasedAt
        self.units = units
        self.restockDue = restockDue
        self.replayed = replayed
        self.lines = lines
        self.buyer = buyer
        self.stream = stream
    }

    /// What was taken back, as lines holding the units taken (for the stream's figures),
    /// named by the return (`idempotencyKey`: counted once) and dated as the purchase.
    public func taken(checkoutID: String, merchant: String, returnID: String) -> Reservation {
        Reservation(
            checkoutID: checkoutID, buyer: buyer,
            lines: units.sorted { $0.key < $1.key }.compactMap { index, quantity in
                guard lines.indices.contains(index), quantity > 0 else { return nil }
                var line = lines[index]
                line.quantity = quantity
                return line
            },
            region: "", attribution: CheckoutRequest.Attribution(), idempotencyKey: "return:\(checkoutID):\(merchant):\(returnID)",
            createdAt: purchasedAt)
    }
}

extension EarningsReport {
    /// A credited line's share of `units` of its `quantity`: the amount exactly, the
    /// commission rounded down (a line taken back whole gives back all of it).
    static func share(amount: Int64, commission: Int64, quantity: Int64, units: Int64) -> (amount: Int64, commission: Int64) {
        guard quantity > 0 else { return (0, 0) }
        let taken = min(units, quantity)
        // amount ≤ 2^53 − 1 and units ≤ 1,000: no product passes Int64.
        return (amount / quantity * taken, commission * taken / quantity)
    }
}
