import NIOCore

/// A command a client sends, decoded and checked for shape (not for permission).
public enum ClientCommand: Sendable, Hashable {
    case connect(id: String, token: String?)
    case subscribe(id: String, stream: StreamID, since: StreamPosition?)
    case unsubscribe(id: String, stream: StreamID)
    case publish(id: String, stream: StreamID, event: EventDraft)
    case ping(id: String)
    /// chat.send, question.*, intent, moderate: everything addressed to one stream's room.
    /// `id` is nil for a chat.send, question.upvote or intent sent without one: no reply
    /// unless it is refused (PROTOCOL.md §2, "fire and forget").
    case stream(id: String?, stream: StreamID, action: StreamAction)
    /// A viewer buys: checked and reserved in the stream's room, then written to the outbox.
    case checkout(id: String, stream: StreamID, request: CheckoutRequest)
    /// orders.subscribe, ack, order.update: an order service's side.
    case orders(id: String, command: OrderCommand)
    /// A viewer arrived through an influencer's link (its code, for a referral ticket), or
    /// came back with the ticket; in `stream` when it says where it watches.
    case referral(id: String, request: ReferralRequest, stream: StreamID?)
    /// What a cart costs delivered somewhere, and which products ship there.
    case quote(id: String, stream: StreamID, request: QuoteRequest)
    /// The buyer's own orders, newest first, after the checkout `after` (a page's last).
    case orderHistory(id: String, after: String?, limit: Int)
    /// The buyer asks a seller to cancel or take back units of their order.
    case orderRequest(id: String, request: OrderRequest)

    /// The command's id; nil only for a fire-and-forget command.
    public var id: String? {
        switch self {
        case .connect(let id, _), .subscribe(let id, _, _), .unsubscribe(let id, _), .publish(let id, _, _), .ping(let id),
            .checkout(let id, _, _), .orders(let id, _), .referral(let id, _, _), .quote(let id, _, _), .orderHistory(let id, _, _),
            .orderRequest(let id, _):
            return id
        case .stream(let id, _, _):
            return id
        }
    }

    /// The commands that may be sent without an `id`: a viewer's high-volume actions,
    /// answered only when refused.
    public static let fireAndForgetTypes: Set<String> = ["chat.send", "question.upvote", "intent"]
}

/// Why a frame could not become a command; `id` is set when the frame had a usable one,
/// so the error reply can carry `re`.
public struct CommandDecodingError: Error, Sendable, Hashable {
    public let id: String?
    public let code: ErrorCode
    public let message: String
}

extension ClientCommand {
    /// The nesting limit for a whole command frame.
    public static let maxDepth = 16
    /// A hard cap on chat and question text before the room's own (configurable) limit.
    public static let maxChatCharacters = 2_000
    public static let maxStreamBannedWords = 500
    /// Orders an `order.history` page holds at most.
    public static let maxHistoryPage = 100

    /// Decodes one text frame. Never throws anything but `CommandDecodingError`.
    public static func decode(_ buffer: ByteBuffer) throws(CommandDecodingError) -> ClientCommand {
        guard JSONDepthScanner.depthIsWithin(buffer.readableBytesView, limit: maxDepth) else {
            throw CommandDecodingError(id: nil, code: .badRequest, message: "JSON nests deeper than \(maxDepth) levels")
        }
        // Fields are checked one by one (not by a typed Decodable), so that an ill-typed
        // field still leaves a usable `id` for the error's `re`.
        guard case .object(let fields) = try? JSONParser.parse(buffer, maxDepth: maxDepth) else {
            throw CommandDecodingError(id: nil, code: .badRequest, message: "frame is not a JSON object")
        }
        return try RawCommand(fields: fields).command()
    }
}

/// The fields of a command object; `command()` checks which ones each type needs and
/// their types.
private struct RawCommand {
    var fields: [String: JSONValue]

    /// A field's value; `null` counts as absent.
    private func field(_ name: String) -> JSONValue? {
        guard let value = fields[name], value != .null else { return nil }
        return value
    }

    func command() throws(CommandDecodingError) -> ClientCommand {
        // Lengths count Unicode code points (PROTOCOL.md §2).
        let sentID = field("id")
        let replyID = sentID?.stringValue
        guard sentID == nil || replyID.map({ (1...64).contains($0.unicodeScalars.count) }) == true else {
            throw CommandDecodingError(id: nil, code: .badRequest, message: "every command needs an 'id': a string of 1-64 characters")
        }
        func fail(_ code: ErrorCode, _ message: String) -> CommandDecodingError {
            CommandDecodingError(id: replyID, code: code, message: message)
        }
        guard let type = field("type")?.stringValue else {
            throw fail(.badRequest, replyID == nil ? "every command needs an 'id': a string of 1-64 characters" : "every command needs a 'type' string")
        }
        guard replyID != nil || ClientCommand.fireAndForgetTypes.contains(type) else {
            throw fail(.badRequest, "every command needs an 'id': a string of 1-64 characters (only chat.send, question.upvote and intent may go without)")
        }
        // Set for every command but the fire-and-forget ones, which use `replyID`.
        let id = replyID ?? ""
        func optionalString(_ name: String) throws(CommandDecodingError) -> String? {
            guard let value = field(name) else { return nil }
            guard let text = value.stringValue else { throw fail(.badRequest, "'\(name)' must be a string") }
            return text
        }
        func streamID() throws(CommandDecodingError) -> StreamID {
            guard let stream = try optionalString("stream") else { throw fail(.badRequest, "'\(type)' needs a 'stream'") }
            guard let streamID = StreamID(stream) else {
                throw fail(.invalidStream, "stream ids are 1-64 characters of [A-Za-z0-9_.-], starting alphanumeric")
            }
            return streamID
        }
        /// A required string; emptiness and length are the room's to judge (they get
        /// `invalid_message`), except for a hard cap that keeps garbage out early.
        func text(_ name: String, maxLength: Int) throws(CommandDecodingError) -> String {
            guard let text = try optionalString(name) else { throw fail(.badRequest, "'\(type)' needs a '\(name)' string") }
            guard text.unicodeScalars.count <= maxLength else {
                throw fail(.invalidMessage, "'\(name)' is longer than \(maxLength) characters")
            }
            return text
        }
        func identifier(_ name: String) throws(CommandDecodingError) -> String {
            guard let value = try optionalString(name), Identifier.isValid(value) else {
                throw fail(.badRequest, "'\(type)' needs '\(name)': 1-64 of [A-Za-z0-9_.:-], starting alphanumeric")
            }
            return value
        }
        func user() throws(CommandDecodingError) -> String {
            guard let value = try optionalString("user"), (1...256).contains(value.unicodeScalars.count) else {
                throw fail(.badRequest, "this moderation action needs 'user': the user's token subject (1-256 characters)")
            }
            return value
        }
        func milliseconds(_ name: String, range: ClosedRange<Int64>) throws(CommandDecodingError) -> Int64 {
            guard let value = field(name)?.intValue, range.contains(value) else {
                throw fail(.badRequest, "'\(name)' must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        func text(_ name: String, range: ClosedRange<Int>) throws(CommandDecodingError) -> String {
            guard let value = try optionalString(name), range.contains(value.unicodeScalars.count) else {
                throw fail(.badRequest, "'\(type)' needs '\(name)': a string of \(range.lowerBound)-\(range.upperBound) characters")
            }
            return value
        }
        /// A checkout number: missing or not a number is a malformed command, a number
        /// out of range (or not written as an integer) an invalid checkout.
        func integer(_ value: JSONValue?, _ name: String, in range: ClosedRange<Int64>) throws(CommandDecodingError) -> Int64 {
            if let number = value?.intValue, range.contains(number) { return number }
            guard let value, value.intValue != nil || value.isNumberOutsideSafeIntegers else {
                throw fail(.badRequest, "each item needs 'product' (an id), 'qty' and 'price_seen' (integers, minor units)")
            }
            throw fail(.invalidCheckout, "'\(name)' must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        /// Where it ships: `ship_to` {country, subdivision?, postcode?}, or the short
        /// `region` ("DE", "DE-BE").
        func destination() throws(CommandDecodingError) -> Destination {
            if let value = field("ship_to") {
                guard let destination = Destination(json: value) else {
                    throw fail(
                        .badRequest,
                        "'ship_to' must be {country, subdivision?, postcode?}: an ISO 3166-1 alpha-2 country such as \"DE\", an ISO 3166-2 subdivision such as \"DE-BE\", a postcode of 1-10 letters and digits"
                    )
                }
                return destination
            }
            guard let region = try optionalString("region"), let destination = Destination(region: region) else {
                throw fail(.badRequest, "'\(type)' needs 'ship_to' {country, subdivision?, postcode?} or a 'region' such as \"DE\" or \"DE-BE\" (ISO 3166)")
            }
            return destination
        }
        func quote() throws(CommandDecodingError) -> QuoteRequest {
            var lines: [QuoteRequest.Line] = []
            if let value = field("items") {
                guard case .array(let items) = value, items.count <= CheckoutRequest.maxLines else {
                    throw fail(.badRequest, "'items' must be an array of at most \(CheckoutRequest.maxLines) {product, variant?, qty}")
                }
                for item in items {
                    guard let object = item.objectValue, let product = object["product"]?.stringValue, Identifier.isValid(product) else {
                        throw fail(.badRequest, "each item needs 'product' (an id) and 'qty'")
                    }
                    var variant: String?
                    if let value = object["variant"], value != .null {
                        guard let text = value.stringValue, Identifier.isValid(text) else { throw fail(.badRequest, "'variant' must be a variant id") }
                        variant = text
                    }
                    lines.append(.init(product: product, variant: variant, quantity: try integer(object["qty"], "qty", in: 1...CheckoutRequest.maxQuantity)))
                }
            }
            return QuoteRequest(lines: lines, shipTo: try destination())
        }
        func checkout() throws(CommandDecodingError) -> CheckoutRequest {
            guard case .array(let items) = field("items") ?? .null else {
                throw fail(.badRequest, "'checkout' needs 'items': an array of {product, variant?, qty, price_seen}")
            }
            guard (1...CheckoutRequest.maxLines).contains(items.count) else {
                throw fail(.invalidCheckout, "a checkout has 1 to \(CheckoutRequest.maxLines) items")
            }
            var lines: [CheckoutRequest.Line] = []
            for item in items {
                guard let object = item.objectValue, let product = object["product"]?.stringValue, Identifier.isValid(product) else {
                    throw fail(.badRequest, "each item needs 'product' (an id), 'qty' and 'price_seen' (integers, minor units)")
                }
                let quantity = try integer(object["qty"], "qty", in: 1...CheckoutRequest.maxQuantity)
                let price = try integer(object["price_seen"], "price_seen", in: 0...JSONValue.maxSafeInteger)
                var variant: String?
                if let value = object["variant"], value != .null {
                    guard let text = value.stringValue, Identifier.isValid(text) else { throw fail(.badRequest, "'variant' must be a variant id") }
                    variant = text
                }
                lines.append(CheckoutRequest.Line(product: product, variant: variant, quantity: quantity, priceSeen: price))
            }
            let shipTo = try destination()
            var totalsSeen: [String: Int64]?
            if let value = field("totals_seen") {
                guard case .array(let entries) = value, (1...CheckoutRequest.maxCurrencies).contains(entries.count) else {
                    throw fail(.badRequest, "'totals_seen' must be an array of 1-\(CheckoutRequest.maxCurrencies) {currency, amount}")
                }
                var seen: [String: Int64] = [:]
                for entry in entries {
                    guard let currency = entry["currency"]?.stringValue, currency.utf8.count == 3,
                        currency.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }), seen[currency] == nil
                    else {
                        throw fail(.badRequest, "each of 'totals_seen' needs a 'currency' (ISO 4217, once each) and an 'amount'")
                    }
                    guard let amount = entry["amount"]?.intValue, (0...JSONValue.maxSafeInteger).contains(amount) else {
                        throw fail(.badRequest, "each of 'totals_seen' needs an 'amount': an integer in 0...\(JSONValue.maxSafeInteger), minor units")
                    }
                    seen[currency] = amount
                }
                totalsSeen = seen
            }
            var attribution = CheckoutRequest.Attribution()
            if let value = field("attribution") {
                guard let object = value.objectValue else {
                    throw fail(.badRequest, "'attribution' must be an object {code?, referral?, stream?, referrer?}")
                }
                func part(_ name: String) throws(CommandDecodingError) -> String? {
                    guard let value = object[name], value != .null else { return nil }
                    guard let text = value.stringValue, (1...128).contains(text.unicodeScalars.count) else {
                        throw fail(.badRequest, "'attribution.\(name)' must be a string of 1-128 characters")
                    }
                    return text
                }
                attribution = CheckoutRequest.Attribution(
                    code: try part("code"), stream: try part("stream"), referrer: try part("referrer"), referral: try part("referral"))
            }
            return CheckoutRequest(
                lines: lines, shipTo: shipTo, attribution: attribution, totalsSeen: totalsSeen, idempotencyKey: try identifier("idempotency_key"))
        }
        func moderation() throws(CommandDecodingError) -> ModerationAction {
            guard let action = try optionalString("action") else { throw fail(.badRequest, "'moderate' needs an 'action'") }
            switch action {
            case "delete_message": return .deleteMessage(try identifier("message"))
            case "timeout_user": return .timeout(user: try user(), durationMilliseconds: try milliseconds("duration_ms", range: 1_000...86_400_000))
            case "ban_user": return .ban(user: try user())
            case "shadow_ban_user": return .shadowBan(user: try user())
            case "unban_user": return .unban(user: try user())
            case "slow_mode": return .slowMode(intervalMilliseconds: try milliseconds("interval_ms", range: 0...3_600_000))
            case "banned_words":
                guard case .array(let values) = field("words") ?? .null, values.count <= ClientCommand.maxStreamBannedWords else {
                    throw fail(.badRequest, "'banned_words' needs 'words': an array of at most \(ClientCommand.maxStreamBannedWords) strings")
                }
                var words: [String] = []
                for value in values {
                    guard let word = value.stringValue, (1...64).contains(word.unicodeScalars.count) else {
                        throw fail(.badRequest, "each banned word is a string of 1-64 characters")
                    }
                    words.append(word)
                }
                return .bannedWords(words)
            default:
                throw fail(.badRequest, "unknown moderation action '\(action.prefix(64))'")
            }
        }
        switch type {
        case "connect":
            return .connect(id: id, token: try optionalString("token"))
        case "subscribe":
            let stream = try streamID()
            var position: StreamPosition?
            if let since = field("since") {
                guard let object = since.objectValue, let epoch = object["epoch"]?.stringValue, epoch.unicodeScalars.count <= 64,
                    let seq = object["seq"]?.intValue, seq >= 0
                else {
                    throw fail(.badRequest, "'since' needs an epoch string and a seq in 0...\(JSONValue.maxSafeInteger)")
                }
                position = StreamPosition(epoch: epoch, seq: UInt64(seq))
            }
            return .subscribe(id: id, stream: stream, since: position)
        case "unsubscribe":
            return .unsubscribe(id: id, stream: try streamID())
        case "publish":
            let stream = try streamID()
            guard let event = field("event")?.objectValue, let kind = event["kind"]?.stringValue else {
                throw fail(.badRequest, "'publish' needs an 'event' {kind, data}")
            }
            let data = event["data"]
            if let data, data.objectValue == nil { throw fail(.badRequest, "'event.data' must be an object") }
            do {
                return .publish(id: id, stream: stream, event: try EventDraft(kindName: kind, data: data))
            } catch {
                throw fail(error.code, error.message)
            }
        case "ping":
            return .ping(id: id)
        case "chat.send":
            let stream = try streamID()
            return .stream(id: replyID, stream: stream, action: .chat(text: try text("text", maxLength: ClientCommand.maxChatCharacters)))
        case "question.ask":
            let stream = try streamID()
            return .stream(id: id, stream: stream, action: .ask(text: try text("text", maxLength: ClientCommand.maxChatCharacters)))
        case "question.upvote":
            let stream = try streamID()
            return .stream(id: replyID, stream: stream, action: .upvote(question: try identifier("question")))
        case "question.answer":
            let stream = try streamID()
            let question = try identifier("question")
            let answer = try optionalString("answer")
            if let answer, answer.isEmpty || answer.unicodeScalars.count > 500 {
                throw fail(.badRequest, "'answer' must be 1-500 characters")
            }
            return .stream(id: id, stream: stream, action: .answer(question: question, answer: answer))
        case "intent":
            let stream = try streamID()
            let product = try identifier("product")
            let variant = field("variant") == nil ? nil : try identifier("variant")
            guard let name = try optionalString("action"), let action = IntentKind(rawValue: name) else {
                throw fail(.badRequest, "'intent' needs an 'action': view, add_to_cart or remove_from_cart")
            }
            return .stream(id: replyID, stream: stream, action: .intent(product: product, variant: variant, action: action))
        case "moderate":
            let stream = try streamID()
            return .stream(id: id, stream: stream, action: .moderate(try moderation()))
        case "checkout":
            let stream = try streamID()
            return .checkout(id: id, stream: stream, request: try checkout())
        case "quote":
            let stream = try streamID()
            return .quote(id: id, stream: stream, request: try quote())
        case "referral":
            let stream = field("stream") == nil ? nil : try streamID()
            switch (field("code"), field("ticket")) {
            case (.some, nil): return .referral(id: id, request: .code(try text("code", range: 1...64)), stream: stream)
            case (nil, .some): return .referral(id: id, request: .ticket(try text("ticket", range: 1...96)), stream: stream)
            default: throw fail(.badRequest, "'referral' takes a 'code' (from an influencer's link) or the 'ticket' kept from one, not both")
            }
        case "order.history":
            let after = field("after") == nil ? nil : try identifier("after")
            var limit = 20
            if field("limit") != nil { limit = Int(try milliseconds("limit", range: 1...Int64(ClientCommand.maxHistoryPage))) }
            return .orderHistory(id: id, after: after, limit: limit)
        case "order.request":
            let checkoutID = try identifier("checkout_id")
            do throws(InvalidOrderUpdate) {
                return .orderRequest(id: id, request: try OrderRequest.parse(checkoutID: checkoutID, fields: fields))
            } catch {
                throw fail(.badRequest, error.message)
            }
        case "orders.subscribe":
            var since: Int64?
            if field("since") != nil { since = try milliseconds("since", range: 0...JSONValue.maxSafeInteger) }
            return .orders(id: id, command: .subscribe(since: since))
        case "ack":
            let delivery = try identifier("delivery")
            switch try optionalString("result") {
            case "confirmed":
                return .orders(id: id, command: .ack(delivery: delivery, result: .confirmed(reference: try text("reference", range: 1...128))))
            case "rejected":
                return .orders(id: id, command: .ack(delivery: delivery, result: .rejected(reason: try text("reason", range: 1...256))))
            default:
                throw fail(.badRequest, "'ack' needs a 'result': confirmed (with a 'reference') or rejected (with a 'reason')")
            }
        case "order.update":
            let checkoutID = try identifier("checkout_id")
            do throws(InvalidOrderUpdate) {
                return .orders(id: id, command: .update(try OrderStatusUpdate.parse(checkoutID: checkoutID, fields: fields)))
            } catch {
                throw fail(.badRequest, error.message)
            }
        case "inventory.set":
            do throws(InvalidInventoryUpdate) {
                return .orders(id: id, command: .setInventory(try InventoryUpdate.parse(fields)))
            } catch {
                throw fail(.badRequest, error.message)
            }
        case "inventory.get":
            guard case .array(let values) = field("products") ?? .null, (1...OrderCommand.maxInventoryProducts).contains(values.count) else {
                throw fail(.badRequest, "'inventory.get' needs 'products': an array of 1-\(OrderCommand.maxInventoryProducts) product ids")
            }
            var products: [String] = []
            for value in values {
                guard let product = value.stringValue, Identifier.isValid(product) else { throw fail(.badRequest, "'products' holds product ids") }
                products.append(product)
            }
            return .orders(id: id, command: .inventory(products: products))
        default:
            throw fail(.unknownCommand, "unknown command type '\(type.prefix(64))'")
        }
    }
}
