extension CheckoutRequest.Attribution {
    /// The claim as stored and sent on (`{code?, stream?, referrer?, referral?}`).
    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let code { object["code"] = .string(code) }
        if let stream { object["stream"] = .string(stream) }
        if let referrer { object["referrer"] = .string(referrer) }
        if let referral { object["referral"] = .string(referral) }
        return .object(object)
    }

    /// Reads `json`; absent or mistyped fields read as nil.
    public init(json: JSONValue?) {
        self.init(
            code: json?["code"]?.stringValue, stream: json?["stream"]?.stringValue, referrer: json?["referrer"]?.stringValue,
            referral: json?["referral"]?.stringValue)
    }
}
