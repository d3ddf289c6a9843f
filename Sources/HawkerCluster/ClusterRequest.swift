import HawkerCommerce
import HawkerHub
import HawkerProtocol
import NIOCore

/// What a node asks of the node that runs a stream (over `ClusterBus`): the operations
/// that must run in the stream's one room. Encoded as JSON between nodes of the same build;
/// whatever does not read is refused, never guessed.
enum ClusterRequest: Sendable, Equatable {
    case publish(EventDraft, stream: StreamID, creator: StreamCreator)
    case perform(StreamAction, author: Author, stream: StreamID)
    case checkout(CheckoutRequest, buyer: String, checkoutID: String, stream: StreamID)
    case abandon(Reservation, stream: StreamID)
    /// Units a merchant took back (their lines' quantities).
    case returned(Reservation, stream: StreamID)
    case settle(checkoutID: String, merchant: String, confirmed: Bool, stream: StreamID)
    /// The buyer's node did not hear the checkout's answer in time: if it was accepted,
    /// it is given back (it was never recorded there).
    case forgetCheckout(checkoutID: String, stream: StreamID)
    /// Reads of the room as it is on its node (a mirror's room lags its counters).
    case snapshot(StreamID)
    case insights(StreamID)
    case quote(QuoteRequest, stream: StreamID)

    var stream: StreamID {
        switch self {
        case .publish(_, let stream, _), .perform(_, _, let stream), .checkout(_, _, _, let stream), .abandon(_, let stream), .returned(_, let stream), .settle(_, _, _, let stream),
            .forgetCheckout(_, let stream), .snapshot(let stream), .insights(let stream), .quote(_, let stream):
            return stream
        }
    }

    var encoded: ByteBuffer { JSONText.encode(json) }

    var json: JSONValue {
        switch self {
        case .publish(let draft, let stream, let creator):
            var object: [String: JSONValue] = ["op": "publish", "stream": .string(stream.rawValue), "kind": .string(draft.kind.rawValue), "data": .object(draft.data)]
            if case .user(let user) = creator { object["creator"] = .string(user) }
            return .object(object)
        case .perform(let action, let author, let stream):
            var authorJSON: [String: JSONValue] = ["user": .string(author.user), "role": .string(author.role), "staff": .bool(author.isStaff)]
            if let name = author.name { authorJSON["name"] = .string(name) }
            return ["op": "perform", "stream": .string(stream.rawValue), "author": .object(authorJSON), "action": Self.json(action)]
        case .checkout(let request, let buyer, let checkoutID, let stream):
            let lines: [JSONValue] = request.lines.map { line in
                var object: [String: JSONValue] = ["product": .string(line.product), "quantity": .int(line.quantity), "price": .int(line.priceSeen)]
                if let variant = line.variant { object["variant"] = .string(variant) }
                return .object(object)
            }
            var object: [String: JSONValue] = [
                "op": "checkout", "stream": .string(stream.rawValue), "buyer": .string(buyer), "checkout": .string(checkoutID),
                "ship_to": request.shipTo.json, "key": .string(request.idempotencyKey), "attribution": request.attribution.json, "lines": .array(lines),
            ]
            if let seen = request.totalsSeen { object["totals_seen"] = .object(seen.mapValues(JSONValue.int)) }
            return .object(object)
        case .abandon(let reservation, let stream):
            return ["op": "abandon", "stream": .string(stream.rawValue), "reservation": reservation.json]
        case .returned(let taken, let stream):
            return ["op": "returned", "stream": .string(stream.rawValue), "reservation": taken.json]
        case .settle(let checkoutID, let merchant, let confirmed, let stream):
            return ["op": "settle", "stream": .string(stream.rawValue), "checkout": .string(checkoutID), "merchant": .string(merchant), "confirmed": .bool(confirmed)]
        case .forgetCheckout(let checkoutID, let stream):
            return ["op": "forget", "stream": .string(stream.rawValue), "checkout": .string(checkoutID)]
        case .snapshot(let stream):
            return ["op": "snapshot", "stream": .string(stream.rawValue)]
        case .insights(let stream):
            return ["op": "insights", "stream": .string(stream.rawValue)]
        case .quote(let request, let stream):
            let lines: [JSONValue] = request.lines.map { line in
                var object: [String: JSONValue] = ["product": .string(line.product), "quantity": .int(line.quantity)]
                if let variant = line.variant { object["variant"] = .string(variant) }
                return .object(object)
            }
            return ["op": "quote", "stream": .string(stream.rawValue), "ship_to": request.shipTo.json, "lines": .array(lines)]
        }
    }

    init?(_ buffer: ByteBuffer) {
        guard let json = try? JSONParser.parse(buffer), let op = json["op"]?.stringValue, let stream = json["stream"]?.stringValue.flatMap(StreamID.init)
        else { return nil }
        switch op {
        case "publish":
            guard let kind = json["kind"]?.stringValue.flatMap(EventKind.init(rawValue:)), let data = json["data"]?.objectValue else { return nil }
            // Validated by the node that took it from the client.
            let creator = json["creator"]?.stringValue.map(StreamCreator.user) ?? .gateway
            self = .publish(EventDraft(restoring: kind, data: data), stream: stream, creator: creator)
        case "perform":
            guard let author = json["author"], let user = author["user"]?.stringValue, let role = author["role"]?.stringValue,
                let staff = author["staff"]?.boolValue, let action = json["action"].flatMap(Self.action)
            else { return nil }
            self = .perform(action, author: Author(user: user, name: author["name"]?.stringValue, role: role, isStaff: staff), stream: stream)
        case "checkout":
            guard let buyer = json["buyer"]?.stringValue, let checkoutID = json["checkout"]?.stringValue,
                let shipTo = json["ship_to"].flatMap(Destination.init(json:)), let key = json["key"]?.stringValue, let lines = json["lines"]?.arrayValue
            else { return nil }
            var parsed: [CheckoutRequest.Line] = []
            for line in lines {
                guard let product = line["product"]?.stringValue, let quantity = line["quantity"]?.intValue, let price = line["price"]?.intValue else { return nil }
                parsed.append(CheckoutRequest.Line(product: product, variant: line["variant"]?.stringValue, quantity: quantity, priceSeen: price))
            }
            var totalsSeen: [String: Int64]?
            if let seen = json["totals_seen"]?.objectValue {
                totalsSeen = seen.compactMapValues(\.intValue)
                guard totalsSeen?.count == seen.count else { return nil }
            }
            let request = CheckoutRequest(
                lines: parsed, shipTo: shipTo, attribution: CheckoutRequest.Attribution(json: json["attribution"]), totalsSeen: totalsSeen,
                idempotencyKey: key)
            self = .checkout(request, buyer: buyer, checkoutID: checkoutID, stream: stream)
        case "abandon":
            guard let reservation = json["reservation"].flatMap(Reservation.init(json:)) else { return nil }
            self = .abandon(reservation, stream: stream)
        case "returned":
            guard let taken = json["reservation"].flatMap(Reservation.init(json:)) else { return nil }
            self = .returned(taken, stream: stream)
        case "settle":
            guard let checkoutID = json["checkout"]?.stringValue, let merchant = json["merchant"]?.stringValue, let confirmed = json["confirmed"]?.boolValue
            else { return nil }
            self = .settle(checkoutID: checkoutID, merchant: merchant, confirmed: confirmed, stream: stream)
        case "forget":
            guard let checkoutID = json["checkout"]?.stringValue else { return nil }
            self = .forgetCheckout(checkoutID: checkoutID, stream: stream)
        case "snapshot":
            self = .snapshot(stream)
        case "insights":
            self = .insights(stream)
        case "quote":
            guard let shipTo = json["ship_to"].flatMap(Destination.init(json:)), let lines = json["lines"]?.arrayValue else { return nil }
            var parsed: [QuoteRequest.Line] = []
            for line in lines {
                guard let product = line["product"]?.stringValue, let quantity = line["quantity"]?.intValue else { return nil }
                parsed.append(QuoteRequest.Line(product: product, variant: line["variant"]?.stringValue, quantity: quantity))
            }
            self = .quote(QuoteRequest(lines: parsed, shipTo: shipTo), stream: stream)
        default:
            return nil
        }
    }

    // MARK: - Stream actions

    private static func json(_ action: StreamAction) -> JSONValue {
        switch action {
        case .chat(let text): return ["a": "chat", "text": .string(text)]
        case .ask(let text): return ["a": "ask", "text": .string(text)]
        case .upvote(let question): return ["a": "upvote", "question": .string(question)]
        case .answer(let question, let answer):
            return answer.map { ["a": "answer", "question": .string(question), "answer": .string($0)] } ?? ["a": "answer", "question": .string(question)]
        case .intent(let product, let variant, let kind):
            var object: [String: JSONValue] = ["a": "intent", "product": .string(product), "intent": .string(kind.rawValue)]
            if let variant { object["variant"] = .string(variant) }
            return .object(object)
        case .moderate(let moderation):
            var object: [String: JSONValue] = ["a": "moderate", "m": .string(moderation.name)]
            switch moderation {
            case .deleteMessage(let message): object["target"] = .string(message)
            case .timeout(let user, let duration):
                object["target"] = .string(user)
                object["ms"] = .int(duration)
            case .ban(let user), .shadowBan(let user), .unban(let user): object["target"] = .string(user)
            case .slowMode(let interval): object["ms"] = .int(interval)
            case .bannedWords(let words): object["words"] = .array(words.map(JSONValue.string))
            }
            return .object(object)
        }
    }

    private static func action(_ json: JSONValue) -> StreamAction? {
        switch json["a"]?.stringValue {
        case "chat": return json["text"]?.stringValue.map(StreamAction.chat)
        case "ask": return json["text"]?.stringValue.map(StreamAction.ask)
        case "upvote": return json["question"]?.stringValue.map(StreamAction.upvote)
        case "answer": return json["question"]?.stringValue.map { .answer(question: $0, answer: json["answer"]?.stringValue) }
        case "intent":
            guard let product = json["product"]?.stringValue, let kind = json["intent"]?.stringValue.flatMap(IntentKind.init(rawValue:)) else { return nil }
            return .intent(product: product, variant: json["variant"]?.stringValue, action: kind)
        case "moderate":
            let target = json["target"]?.stringValue
            let milliseconds = json["ms"]?.intValue
            switch json["m"]?.stringValue {
            case "delete_message": return target.map { .moderate(.deleteMessage($0)) }
            case "timeout_user": return target.flatMap { user in milliseconds.map { .moderate(.timeout(user: user, durationMilliseconds: $0)) } }
            case "ban_user": return target.map { .moderate(.ban(user: $0)) }
            case "shadow_ban_user": return target.map { .moderate(.shadowBan(user: $0)) }
            case "unban_user": return target.map { .moderate(.unban(user: $0)) }
            case "slow_mode": return milliseconds.map { .moderate(.slowMode(intervalMilliseconds: $0)) }
            case "banned_words":
                guard let words = json["words"]?.arrayValue else { return nil }
                let texts = words.compactMap(\.stringValue)
                return texts.count == words.count ? .moderate(.bannedWords(texts)) : nil
            default: return nil
            }
        default:
            return nil
        }
    }
}
