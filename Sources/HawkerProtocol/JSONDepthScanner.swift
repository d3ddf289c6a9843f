/// Finds the nesting depth of a JSON text without parsing it, so that deeply nested
/// input is refused before a recursive decoder walks into it.
public enum JSONDepthScanner {
    /// Returns `true` when no array or object in `bytes` nests deeper than `limit`.
    public static func depthIsWithin<Bytes: Sequence<UInt8>>(_ bytes: Bytes, limit: Int) -> Bool {
        var depth = 0
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
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return false }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            default:
                break
            }
        }
        return true
    }
}
