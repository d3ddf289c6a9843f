/// Random identifiers for sessions and stream epochs: 16 lowercase hex characters.
public enum RandomID {
    public static func hex16() -> String {
        let raw = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - raw.count) + raw
    }
}
