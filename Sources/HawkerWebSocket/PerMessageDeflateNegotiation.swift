/// permessage-deflate (RFC 7692) negotiation for a server that never keeps its
/// compression context between messages (`server_no_context_takeover`), so that one
/// compressed broadcast frame is valid for every viewer that negotiated it.
public struct PerMessageDeflateParameters: Sendable, Hashable {
    /// The LZ77 window the server compresses with (9...15).
    public var serverMaxWindowBits: Int
    /// The client promised to reset its context per message, so no inflate state needs
    /// to survive between messages.
    public var clientNoContextTakeover: Bool

    public init(serverMaxWindowBits: Int = 15, clientNoContextTakeover: Bool = false) {
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientNoContextTakeover = clientNoContextTakeover
    }

    /// The `Sec-WebSocket-Extensions` value the server answers with.
    public var responseHeaderValue: String {
        var value = "permessage-deflate; server_no_context_takeover"
        if clientNoContextTakeover { value += "; client_no_context_takeover" }
        if serverMaxWindowBits < 15 { value += "; server_max_window_bits=\(serverMaxWindowBits)" }
        return value
    }

    /// Picks the first acceptable permessage-deflate offer from the client's
    /// `Sec-WebSocket-Extensions` header values, or nil to run uncompressed.
    public static func negotiate(offers headerValues: [String]) -> PerMessageDeflateParameters? {
        for headerValue in headerValues {
            for offer in headerValue.split(separator: ",") {
                if let accepted = accept(offer: offer) { return accepted }
            }
        }
        return nil
    }

    private static func accept(offer: Substring) -> PerMessageDeflateParameters? {
        let parts = offer.split(separator: ";").map { $0.trimmingSpaces }
        guard parts.first?.lowercased() == "permessage-deflate" else { return nil }
        var result = PerMessageDeflateParameters()
        var seen = Set<String>()
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
            // An empty parameter ("a; ; b", "a;=") makes the offer invalid.
            guard let first = pair.first, !first.isEmpty else { return nil }
            let name = first.lowercased()
            var value = pair.count > 1 ? pair[1] : nil
            if let quoted = value, quoted.count >= 2, quoted.hasPrefix("\""), quoted.hasSuffix("\"") {
                value = String(quoted.dropFirst().dropLast())
            }
            // A parameter given twice makes the offer invalid (RFC 7692 §7).
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                result.clientNoContextTakeover = true
            case "server_max_window_bits":
                // zlib cannot produce raw deflate with an 8-bit window, so decline that.
                guard let value, let bits = Int(value), (9...15).contains(bits), value.first != "0" else { return nil }
                result.serverMaxWindowBits = bits
            case "client_max_window_bits":
                // Any client window is fine: we inflate with the largest one.
                if let value {
                    guard let bits = Int(value), (8...15).contains(bits), value.first != "0" else { return nil }
                }
            default:
                return nil
            }
        }
        return result
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
