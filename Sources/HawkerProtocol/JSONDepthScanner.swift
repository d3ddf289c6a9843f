/// Finds the nesting depth of a JSON text without parsing it, so that deeply nested
/// input is refused before a recursive decoder walks into it.
public enum JSONDepthScanner {
    /// Returns `true` when no array or object in `bytes` nests deeper than `limit`.
    public static func depthIsWithin<Bytes: Sequence<UInt8>>(_ bytes: Bytes, limit: Int) -> Bool {
        var depth = 0
        return forEachByteOutsideStrings(bytes) { byte in
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                return depth <= limit
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                return true
            default:
                return true
            }
        }
    }

    /// Calls `body` with every byte of `bytes` that is not inside a string literal (an
    /// opening quote is passed, the string's contents and closing quote are not), in
    /// order, until it returns false. Returns false when `body` stopped it.
    @inlinable
    public static func forEachByteOutsideStrings<Bytes: Sequence<UInt8>>(_ bytes: Bytes, _ body: (UInt8) -> Bool) -> Bool {
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            if byte == UInt8(ascii: "\"") { inString = true }
            guard body(byte) else { return false }
        }
        return true
    }
}
