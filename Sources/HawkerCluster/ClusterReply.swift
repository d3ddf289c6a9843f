import HawkerCommerce
import HawkerHub
import HawkerProtocol
import NIOCore

/// The owner's answer to a `ClusterRequest`: what the operation returned, or the
/// `HubError` it failed with (so that the client hears the same error on any node).
enum ClusterReply: Sendable {
    case published(PublishReceipt)
    case outcome(RoomOutcome)
    case checkout(StreamRoom.CheckoutOutcome)
    case snapshot(StreamSnapshot?)
    case insights(ByteBuffer?)
    /// nil: no such stream.
    case quote(Result<Quote, CheckoutRejection>?)
    case done
    case failed(HubError)

    var encoded: ByteBuffer { JSONText.encode(json) }

    var json: JSONValue {
        switch self {
        case .published(let receipt):
            return ["r": "published", "receipt": Self.json(receipt)]
        case .outcome(.reply(let type, let body)):
            return ["r": "reply", "type": .string(type.rawValue), "body": .object(body)]
        case .outcome(.published(let receipt)):
            return ["r": "published", "receipt": Self.json(receipt)]
        case .checkout(let outcome):
            var object: [String: JSONValue] = ["r": "checkout", "replayed": .bool(outcome.replayed)]
            switch outcome.result {
            case .success(let reservation): object["reservation"] = reservation.json
            case .failure(let rejection): object["rejection"] = rejection.json
            }
            return .object(object)
        case .quote(let result):
            switch result {
            case .success(let quote): return ["r": "quote", "quote": .object(quote.json)]
            case .failure(let rejection): return ["r": "quote", "rejection": rejection.json]
            case nil: return ["r": "quote"]
            }
        case .snapshot(let snapshot):
            guard let snapshot, let state = try? JSONParser.parse(snapshot.stateJSON) else { return ["r": "snapshot"] }
            var object: [String: JSONValue] = ["r": "snapshot", "epoch": .string(snapshot.position.epoch), "seq": .int(Int64(clamping: snapshot.position.seq)), "state": state]
            if let archivedAt = snapshot.archivedAt { object["archived_at"] = .int(archivedAt) }
            return .object(object)
        case .insights(let insights):
            guard let insights, let value = try? JSONParser.parse(insights) else { return ["r": "insights"] }
            return ["r": "insights", "insights": value]
        case .done:
            return ["r": "done"]
        case .failed(let error):
            return ["r": "failed", "error": Self.json(error)]
        }
    }

    init?(_ buffer: ByteBuffer) {
        guard let json = try? JSONParser.parse(buffer) else { return nil }
        switch json["r"]?.stringValue {
        case "published":
            guard let receipt = json["receipt"].flatMap(Self.receipt) else { return nil }
            self = .published(receipt)
        case "reply":
            guard let type = json["type"]?.stringValue.flatMap(MessageType.init(rawValue:)), let body = json["body"]?.objectValue else { return nil }
            self = .outcome(.reply(type: type, body: body))
        case "checkout":
            guard let replayed = json["replayed"]?.boolValue else { return nil }
            let result: Result<Reservation, CheckoutRejection>
            if let reservation = json["reservation"].flatMap(Reservation.init(json:)) {
                result = .success(reservation)
            } else if let rejection = json["rejection"].flatMap(CheckoutRejection.init(json:)) {
                result = .failure(rejection)
            } else {
                return nil
            }
            // The owner publishes the stock events itself.
            self = .checkout(StreamRoom.CheckoutOutcome(result: result, replayed: replayed, stockEvents: []))
        case "snapshot":
            guard let state = json["state"] else {
                self = .snapshot(nil)
                return
            }
            guard let epoch = json["epoch"]?.stringValue, let seq = json["seq"]?.intValue, seq >= 0 else { return nil }
            self = .snapshot(StreamSnapshot(position: StreamPosition(epoch: epoch, seq: UInt64(seq)), stateJSON: JSONText.encode(state), archivedAt: json["archived_at"]?.intValue))
        case "insights":
            self = .insights(json["insights"].map { JSONText.encode($0) })
        case "quote":
            if let value = json["quote"] {
                guard let quote = Quote(json: value) else { return nil }
                self = .quote(.success(quote))
            } else if let value = json["rejection"] {
                guard let rejection = CheckoutRejection(json: value) else { return nil }
                self = .quote(.failure(rejection))
            } else {
                self = .quote(nil)
            }
        case "done":
            self = .done
        case "failed":
            guard let error = json["error"].flatMap(Self.error) else { return nil }
            self = .failed(error)
        default:
            return nil
        }
    }

    private static func json(_ receipt: PublishReceipt) -> JSONValue {
        [
            "stream": .string(receipt.stream.rawValue), "epoch": .string(receipt.position.epoch), "seq": .int(Int64(clamping: receipt.position.seq)),
            "ts": .int(receipt.timestamp),
        ]
    }

    private static func receipt(_ json: JSONValue) -> PublishReceipt? {
        guard let stream = json["stream"]?.stringValue.flatMap(StreamID.init), let epoch = json["epoch"]?.stringValue, let seq = json["seq"]?.intValue, seq >= 0,
            let timestamp = json["ts"]?.intValue
        else { return nil }
        return PublishReceipt(stream: stream, position: StreamPosition(epoch: epoch, seq: UInt64(seq)), timestamp: timestamp)
    }

    private static func json(_ error: HubError) -> JSONValue {
        switch error {
        case .streamNotFound: return ["e": "stream_not_found"]
        case .streamQuotaReached: return ["e": "stream_quota_reached"]
        case .tooManyStreams: return ["e": "too_many_streams"]
        case .notStored: return ["e": "not_stored"]
        case .storeBehind: return ["e": "store_behind"]
        case .runsElsewhere: return ["e": "runs_elsewhere"]
        case .rejected(let refusal):
            var object: [String: JSONValue] = ["e": "rejected", "code": .string(refusal.code.rawValue), "message": .string(refusal.message)]
            if let retry = refusal.retryAfterMilliseconds { object["retry_ms"] = .int(retry) }
            return .object(object)
        }
    }

    private static func error(_ json: JSONValue) -> HubError? {
        switch json["e"]?.stringValue {
        case "stream_not_found": return .streamNotFound
        case "stream_quota_reached": return .streamQuotaReached
        case "too_many_streams": return .tooManyStreams
        case "not_stored": return .notStored
        case "store_behind": return .storeBehind
        case "runs_elsewhere": return .runsElsewhere
        case "rejected":
            guard let code = json["code"]?.stringValue.flatMap(ErrorCode.init(rawValue:)), let message = json["message"]?.stringValue else { return nil }
            return .rejected(RoomError(code, message, retryAfterMilliseconds: json["retry_ms"]?.intValue))
        default: return nil
        }
    }
}
