import HawkerProtocol

extension Reservation {
    /// The stored form (the outbox's `reservation` column), written and read without
    /// Foundation's coders: a checkout storm writes and reads thousands a second.
    public var json: JSONValue {
        var attribution: [String: JSONValue] = [:]
        if let code = self.attribution.code { attribution["code"] = .string(code) }
        if let stream = self.attribution.stream { attribution["stream"] = .string(stream) }
        if let referrer = self.attribution.referrer { attribution["referrer"] = .string(referrer) }
        return [
            "checkoutID": .string(checkoutID), "buyer": .string(buyer), "region": .string(region),
            "idempotencyKey": .string(idempotencyKey), "createdAt": .int(createdAt), "attribution": .object(attribution),
            "lines": .array(
                lines.map { line in
                    var object: [String: JSONValue] = [
                        "product": .string(line.product), "quantity": .int(line.quantity), "unitPrice": .int(line.unitPrice),
                        "currency": .string(line.currency), "merchant": .string(line.merchant),
                    ]
                    if let variant = line.variant { object["variant"] = .string(variant) }
                    if let sale = line.sale { object["sale"] = .string(sale) }
                    return .object(object)
                }),
        ]
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
            parsed.append(
                Line(
                    product: product, variant: line["variant"]?.stringValue, quantity: quantity, unitPrice: unitPrice,
                    currency: currency, merchant: merchant, sale: line["sale"]?.stringValue
                ))
        }
        let attribution = json["attribution"]
        self.init(
            checkoutID: checkoutID, buyer: buyer, lines: parsed, region: region,
            attribution: CheckoutRequest.Attribution(
                code: attribution?["code"]?.stringValue, stream: attribution?["stream"]?.stringValue, referrer: attribution?["referrer"]?.stringValue
            ),
            idempotencyKey: key, createdAt: createdAt
        )
    }
}
