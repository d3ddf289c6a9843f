import HarnessSupport
import HawkerProtocol
import NIOCore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// ClientCommand.decode on any frame. It must never trap; a thrown CommandDecodingError
/// is the expected outcome for bad input. For a decoded command:
///  - every integer that came from JSON is within ±(2^53 − 1) (and its own range);
///  - decoding is deterministic;
///  - published event data holds no number that is not a safe integer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientCommand(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { UnsafeRawBufferPointer(start: $0, count: count) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
    let frame = ByteBuffer(bytes: bytes)
    let command: ClientCommand
    do {
        command = try ClientCommand.decode(frame)
    } catch {
        if let id = error.id { require((1...64).contains(id.unicodeScalars.count), "error id of \(id.unicodeScalars.count) characters") }
        require(!error.message.isEmpty, "an error without a message")
        return 0
    }
    require((try? ClientCommand.decode(frame)) == command, "decoding the same frame twice differs")
    if let id = command.id {
        require((1...64).contains(id.unicodeScalars.count), "command id of \(id.unicodeScalars.count) characters")
    } else {
        // Only a viewer's fire-and-forget actions may come without an id.
        guard case .stream(_, _, let action) = command else { fatalError("a command without an id: \(command)") }
        switch action {
        case .chat, .upvote, .intent: break
        default: fatalError("\(action.commandName) without an id")
        }
    }
    check(command)
    return 0
}

private let safe = -JSONValue.maxSafeInteger...JSONValue.maxSafeInteger

private func check(_ command: ClientCommand) {
    switch command {
    case .subscribe(_, _, let since):
        if let since { require(since.seq <= UInt64(JSONValue.maxSafeInteger), "since.seq \(since.seq) beyond 2^53 − 1") }
    case .publish(_, _, let event):
        let data = JSONValue.object(event.data)
        requireSafeIntegers(data, "publish event.data")
        require(!data.containsDouble, "publish event.data holds a non-integer number: \(data)")
    case .checkout(_, _, let request):
        require((1...CheckoutRequest.maxLines).contains(request.lines.count), "\(request.lines.count) checkout lines")
        for line in request.lines {
            require((1...CheckoutRequest.maxQuantity).contains(line.quantity), "qty \(line.quantity)")
            require((0...JSONValue.maxSafeInteger).contains(line.priceSeen), "price_seen \(line.priceSeen)")
        }
        requireValid(request.shipTo)
        for (currency, amount) in request.totalsSeen ?? [:] {
            require(currency.utf8.count == 3 && (0...JSONValue.maxSafeInteger).contains(amount), "totals_seen \(currency) \(amount)")
        }
        for claim in [request.attribution.code, request.attribution.stream, request.attribution.referrer, request.attribution.referral] {
            if let claim { require((1...128).contains(claim.unicodeScalars.count), "attribution field of \(claim.unicodeScalars.count) characters") }
        }
    case .quote(_, _, let request):
        require(request.lines.count <= CheckoutRequest.maxLines, "\(request.lines.count) quote lines")
        require(request.lines.allSatisfy { (1...CheckoutRequest.maxQuantity).contains($0.quantity) }, "quote quantities")
        requireValid(request.shipTo)
    case .orderHistory(_, let after, let limit):
        require((1...ClientCommand.maxHistoryPage).contains(limit), "order.history limit \(limit)")
        require(after.map(Identifier.isValid) ?? true, "order.history after \(String(describing: after))")
    case .referral(_, .code(let code), _):
        require((1...64).contains(code.unicodeScalars.count), "referral code of \(code.unicodeScalars.count) characters")
    case .referral(_, .ticket(let ticket), _):
        require((1...96).contains(ticket.unicodeScalars.count), "referral ticket of \(ticket.unicodeScalars.count) characters")
    case .stream(_, _, let action):
        if case .moderate(let moderation) = action {
            switch moderation {
            case .timeout(_, let duration): require(safe.contains(duration) && duration > 0, "timeout duration_ms \(duration)")
            case .slowMode(let interval): require(safe.contains(interval) && interval >= 0, "slow_mode interval_ms \(interval)")
            default: break
            }
        }
    case .orders(_, .update(let update)):
        if let reversal = update.reversal {
            require(OrderStatusUpdate.Reversal.statuses[update.status] != nil, "a reversal on status \(update.status)")
            require(Identifier.isValid(reversal.id), "return_id \(reversal.id)")
            for item in reversal.items ?? [] {
                require((1...CheckoutRequest.maxQuantity).contains(item.quantity) && Identifier.isValid(item.product), "returned item \(item)")
            }
        } else {
            require(OrderStatusUpdate.Reversal.statuses[update.status] == nil, "status \(update.status) without its reversal")
        }
        if let request = update.requestID {
            require(Identifier.isValid(request), "request_id \(request)")
            require(update.reversal != nil || update.status == OrderStatusUpdate.declinedStatus, "request_id with status \(update.status)")
        }
        require(update.status != OrderStatusUpdate.declinedStatus || update.requestID != nil, "declined without its request")
    case .orders(_, .subscribe(let since)):
        if let since { require((0...JSONValue.maxSafeInteger).contains(since), "orders.subscribe since \(since)") }
    case .orders(_, .setInventory(let update)):
        require((1...InventoryUpdate.maxItems).contains(update.items.count), "\(update.items.count) inventory changes")
        require(Set(update.items.map { [$0.product, $0.variant ?? ""] }).count == update.items.count, "a product or variant changed twice")
        for item in update.items {
            require(Identifier.isValid(item.product) && (item.variant.map(Identifier.isValid) ?? true), "inventory ids \(item)")
            switch item.change {
            case .onHand(let level), .available(let level): require((0...JSONValue.maxSafeInteger).contains(level), "level \(level)")
            case .adjust(let delta): require(safe.contains(delta), "adjust \(delta)")
            case .untrack: break
            }
        }
    case .orderRequest(_, let request):
        require([request.checkoutID, request.merchant, request.id].allSatisfy(Identifier.isValid), "request ids \(request)")
        require(request.items.map { (1...CheckoutRequest.maxLines).contains($0.count) } ?? true, "\(request.items?.count ?? 0) request items")
        for item in request.items ?? [] {
            require((1...CheckoutRequest.maxQuantity).contains(item.quantity) && Identifier.isValid(item.product), "requested item \(item)")
        }
        require(request.reason.map { (1...OrderRequest.maxReason).contains($0.unicodeScalars.count) } ?? true, "request reason")
    case .orders(_, .inventory(let products)):
        require((1...OrderCommand.maxInventoryProducts).contains(products.count) && products.allSatisfy(Identifier.isValid), "inventory.get \(products)")
    case .connect, .unsubscribe, .ping, .orders:
        break
    }
}

/// A destination a command carries is one the server could have made itself.
private func requireValid(_ destination: Destination) {
    let again = Destination(country: destination.country, subdivision: destination.subdivision, postcode: destination.postcode)
    require(again == destination, "ship_to \(destination) is not normalised")
    require(Destination(region: destination.region) != nil, "region \(destination.region)")
}
