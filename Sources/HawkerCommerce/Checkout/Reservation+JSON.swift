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
                    if let supplier = line.supplier { object["supplier"] = supplier.json }
                    return .object(object)
                }),
        ]
        if let declined { object["declined"] = declined.json }
        if let shipTo { object["shipTo"] = shipTo.json }
        if !charges.isEmpty { object["charges"] = .array(charges.map(\.json)) }
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
                    currency: currency, merchant: merchant, sale: line["sale"]?.stringValue, credit: line["credit"].flatMap(LineCredit.init(json:)),
                    supplier: Supplier(json: line["supplier"])
                ))
        }
        var charges: [Charge] = []
        for value in json["charges"]?.arrayValue ?? [] {
            guard let charge = Charge(json: value) else { return nil }
            charges.append(charge)
        }
        self.init(
            checkoutID: checkoutID, buyer: buyer, lines: parsed, region: region, shipTo: json["shipTo"].flatMap(Destination.init(json:)), charges: charges,
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

extension Charge {
    /// On the wire and stored: `{merchant, currency, subtotal, shipping, tax, tax_included, total, zone?}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "merchant": .string(merchant), "currency": .string(currency), "subtotal": .int(subtotal), "shipping": .int(shipping),
            "tax": .int(tax), "tax_included": .bool(taxIncluded), "total": .int(total),
        ]
        if let zone { object["zone"] = .string(zone) }
        return .object(object)
    }

    /// Reads the form above; nil when a field is missing or an amount is out of range.
    public init?(json: JSONValue) {
        func amount(_ name: String) -> Int64? {
            json[name]?.intValue.flatMap { (0...JSONValue.maxSafeInteger).contains($0) ? $0 : nil }
        }
        guard let merchant = json["merchant"]?.stringValue, let currency = json["currency"]?.stringValue, let subtotal = amount("subtotal"),
            let shipping = amount("shipping"), let tax = amount("tax"), let taxIncluded = json["tax_included"]?.boolValue, let total = amount("total")
        else { return nil }
        self.init(
            merchant: merchant, currency: currency, subtotal: subtotal, shipping: shipping, tax: tax, taxIncluded: taxIncluded, total: total,
            zone: json["zone"]?.stringValue)
    }
}
