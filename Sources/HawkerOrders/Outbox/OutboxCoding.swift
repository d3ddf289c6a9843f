import HawkerCommerce
import HawkerProtocol
import NIOCore

/// How every outbox stores what it cannot keep in columns: the reservation and a notice's
/// body as JSON text, read back strictly (a row that does not read is `OutboxCorruption`).
public enum OutboxCoding {
    @_spi(Fuzzing) public static func encode(_ value: JSONValue) -> String {
        String(buffer: JSONText.encode(value))
    }

    @_spi(Fuzzing) public static func decodeReservation(_ text: String) throws -> Reservation {
        try decodeCheckout(text).reservation
    }

    /// A checkout's stored document: the reservation and, when it was traced, the
    /// checkout's trace context beside it (`OrderTracing`), which the reservation ignores.
    @_spi(Fuzzing) public static func encodeCheckout(_ reservation: Reservation, trace: [String: String]) -> String {
        guard !trace.isEmpty, case .object(var document) = reservation.json else { return encode(reservation.json) }
        document["trace"] = .object(trace.mapValues { .string($0) })
        return encode(.object(document))
    }

    @_spi(Fuzzing) public static func decodeCheckout(_ text: String) throws -> (reservation: Reservation, trace: [String: String]) {
        guard let value = try? JSONParser.parse(ByteBuffer(string: text)), let reservation = Reservation(json: value) else {
            throw OutboxCorruption(description: "a stored checkout could not be read")
        }
        // Read leniently: a trace context that does not read only loses the link.
        var trace: [String: String] = [:]
        for (name, entry) in value["trace"]?.objectValue ?? [:] {
            guard trace.count < OrderTracing.maxCarriedEntries, let text = entry.stringValue, OrderTracing.isCarried(name, text) else { continue }
            trace[name] = text
        }
        return (reservation, trace)
    }

    /// Reads a stored notice body; one that is not a JSON object reads as empty.
    @_spi(Fuzzing) public static func decodeNoticeBody(_ text: String) -> [String: JSONValue] {
        (try? JSONParser.parse(ByteBuffer(string: text)))?.objectValue ?? [:]
    }

    static func streamID(_ text: String) throws -> StreamID {
        guard let stream = StreamID(text) else { throw OutboxCorruption(description: "a stored stream id could not be read") }
        return stream
    }

    /// A delivery from its row and its checkout's. `withdrawn`: for a shipment, the units
    /// (per line index, as `PartReversal.encode` writes them) its seller cancelled before
    /// it was sent, which it does not carry.
    static func delivery(
        checkoutID: String, merchant: String, seller: String, status: String, attempts: Int, nextAttemptAt: Int64, lastError: String?, reference: String?,
        redrivenAt: Int64?, stream: String, buyer: String, reservation: String, createdAt: Int64, withdrawn: String? = nil
    ) throws -> OutboxDelivery {
        let (decoded, trace) = try decodeCheckout(reservation)
        let shipment = merchant != seller
        let less = shipment ? withdrawn.map(PartReversal.decode) ?? [:] : [:]
        let lines = decoded.lines.enumerated().compactMap { index, line -> Reservation.Line? in
            guard line.merchant == seller, !shipment || line.supplier?.merchant == merchant else { return nil }
            var kept = line
            kept.quantity = line.quantity - min(max(0, less[index] ?? 0), line.quantity)
            return kept.quantity > 0 ? kept : nil
        }
        return OutboxDelivery(
            checkoutID: checkoutID, merchant: merchant, seller: seller, stream: try streamID(stream), buyer: buyer,
            lines: lines, region: decoded.region,
            shipTo: decoded.shipTo, charges: shipment ? [] : decoded.charge(of: merchant),
            attribution: decoded.attribution,
            status: OutboxDelivery.Status(rawValue: status) ?? .pending, attempts: attempts, nextAttemptAt: nextAttemptAt, lastError: lastError,
            reference: reference, createdAt: createdAt, redrivenAt: redrivenAt, traceContext: trace
        )
    }

    /// A stored request, read against its checkout's lines; nil when its kind or status
    /// does not read (a row of a newer version).
    @_spi(Fuzzing) public static func request(
        checkoutID: String, merchant: String, id: String, kind: String, units: String, reason: String?, status: String, answer: String?, createdAt: Int64,
        updatedAt: Int64, lines: [Reservation.Line]
    ) -> BuyerRequest? {
        guard let kind = OrderRequest.Kind(rawValue: kind), let status = BuyerRequest.Status(rawValue: status) else { return nil }
        return BuyerRequest(
            checkoutID: checkoutID, merchant: merchant, id: id, kind: kind, units: PartReversal.decode(units), lines: lines, reason: reason, status: status,
            answer: answer, createdAt: createdAt, updatedAt: updatedAt)
    }

    /// A request as the relay delivers it: its seller's order (lines, reference) with the
    /// request set, due as the request is.
    static func requestDelivery(
        _ request: BuyerRequest, attempts: Int, nextAttemptAt: Int64, lastError: String?, reference: String?, stream: String, buyer: String,
        reservation: Reservation, trace: [String: String]
    ) throws -> OutboxDelivery {
        OutboxDelivery(
            checkoutID: request.checkoutID, merchant: request.merchant, seller: request.merchant, stream: try streamID(stream), buyer: buyer,
            lines: reservation.lines.filter { $0.merchant == request.merchant }, region: reservation.region, shipTo: reservation.shipTo,
            charges: reservation.charge(of: request.merchant), attribution: reservation.attribution, status: .pending, attempts: attempts,
            nextAttemptAt: nextAttemptAt, lastError: lastError, reference: reference, createdAt: reservation.createdAt, redrivenAt: nil,
            traceContext: trace, request: request)
    }

    /// A stored notice. Written by this code: one of the three notice types; anything else
    /// (a row of a newer version) still reaches the buyer, as a status update.
    static func notice(id: Int64, buyer: String, checkoutID: String, stream: String, type: String, body: String, createdAt: Int64) throws -> OrderNotice {
        OrderNotice(
            id: id, buyer: buyer, checkoutID: checkoutID, stream: try streamID(stream), type: MessageType(rawValue: type) ?? .orderStatus,
            body: decodeNoticeBody(body), createdAt: createdAt
        )
    }
}

/// The outbox holds something it cannot read back.
public struct OutboxCorruption: Error, CustomStringConvertible, Sendable {
    public let description: String
}
