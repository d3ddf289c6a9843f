import HawkerProtocol

extension Reservation {
    /// The stored form (the outbox's `reservation` column), written and read without
    /// Foundation's coders: a checkout storm writes and reads thousands a second.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "checkoutID": .string(checkoutID), "buyer": .string(buyer), "region": .string(region),
            "idempotencyKey": .string(idempotencyKey), "createdAt": .int(createdAt), "attribution": attribution.json,
            "lines": .array(
                lines.map { line in
                    var object: [String: JSONValue] = [
                        "product": .string(line.product), "quantity": .int(line.quantity), "unitPrice": .int(line.unitPrice),
                        "currency": .string(line.currency), "merchant": .string(line.merchant),
                    ]
                    if let variant = line.variant { object["variant"] = .string(variant) }
                    if let sale = line.sale { object["sale"] = .string(sale) }
                    if let credit = line.credit { object["credit"] = credit.json }
                    return .object(object)
                }),
        ]
        if let declined { object["declined"] = declined.json }
        return .object(object)
    }

    /// Reads the stored form; nil when a field is missing.
    public init?(json: JSONValue) {
        guard let checkoutID = json["checkoutID"]?.stringValue, let buyer = json["buyer"]?.stringValue,
            let region = json["region"]?.stringValue, let key = json["idempotencyKey"]?.stringValue,
            let createdAt = json["createdAt"]?.intValue, let lines = json["lines"]?.arrayValue
        else { return nil }
        var parsed: [Line] = []
        for line in lines {
            guard let product = line["product"]?.stringValue, let quantity = line["quantity"]?.intValue,
                (1...CheckoutRequest.maxQuantity).contains(quantity),
                let unitPrice = line["unitPrice"]?.intValue, unitPrice >= 0, let currency = line["currency"]?.stringValue,
                let merchant = line["merchant"]?.stringValue
            else { return nil }
            // Rows from before codes were registered have no credit.
            parsed.append(
                Line(
                    product: product, variant: line["variant"]?.stringValue, quantity: quantity, unitPrice: unitPrice,
                    currency: currency, merchant: merchant, sale: line["sale"]?.stringValue, credit: line["credit"].flatMap(LineCredit.init(json:))
                ))
        }
        self.init(
            checkoutID: checkoutID, buyer: buyer, lines: parsed, region: region,
            attribution: CheckoutRequest.Attribution(json: json["attribution"]), declined: json["declined"].flatMap(AttributionDeclined.init(json:)),
            idempotencyKey: key, createdAt: createdAt
        )
    }
}

extension LineCredit {
    /// On the wire and stored: `{code, influencer, commission, source}`.
    public var json: JSONValue {
        ["code": .string(code), "influencer": .string(influencer), "commission": .int(commission), "source": .string(source.rawValue)]
    }

    public init?(json: JSONValue) {
        guard let code = json["code"]?.stringValue, let influencer = json["influencer"]?.stringValue,
            let commission = json["commission"]?.intValue, (0...JSONValue.maxSafeInteger).contains(commission),
            let source = json["source"]?.stringValue.flatMap(AttributionCredit.Source.init(rawValue:))
        else { return nil }
        self.init(code: code, influencer: influencer, commission: commission, source: source)
    }
}

extension AttributionDeclined {
    /// `{code?, reason}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["reason": .string(reason.rawValue)]
        if let code { object["code"] = .string(code) }
        return .object(object)
    }

    public init?(json: JSONValue) {
        guard let reason = json["reason"]?.stringValue.flatMap(Reason.init(rawValue:)) else { return nil }
        self.init(code: json["code"]?.stringValue, reason: reason)
    }
}
