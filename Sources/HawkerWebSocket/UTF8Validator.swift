/// Incremental UTF-8 validation (RFC 3629), so a text message split over fragments is
/// refused at the first invalid byte rather than after it has been buffered whole.
public struct UTF8Validator: Sendable {
    private var remaining: UInt8 = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    public init() {}

    /// True when everything fed so far ends on a character boundary.
    public var isComplete: Bool { remaining == 0 }

    /// Feeds more bytes; returns false as soon as they cannot be part of valid UTF-8.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if remaining == 0 {
                // Fast path over ASCII runs.
                if byte < 0x80 {
                    index += 1
                    continue
                }
                switch byte {
                case 0xC2...0xDF: start(1, 0x80, 0xBF)
                case 0xE0: start(2, 0xA0, 0xBF)
                case 0xE1...0xEC, 0xEE...0xEF: start(2, 0x80, 0xBF)
                case 0xED: start(2, 0x80, 0x9F)  // no UTF-16 surrogates
                case 0xF0: start(3, 0x90, 0xBF)
                case 0xF1...0xF3: start(3, 0x80, 0xBF)
                case 0xF4: start(3, 0x80, 0x8F)  // nothing above U+10FFFF
                default: return false
                }
            } else {
                guard byte >= lower, byte <= upper else { return false }
                remaining -= 1
                lower = 0x80
                upper = 0xBF
            }
            index += 1
        }
        return true
    }

    public mutating func reset() {
        self = UTF8Validator()
    }

    private mutating func start(_ continuationBytes: UInt8, _ lower: UInt8, _ upper: UInt8) {
        remaining = continuationBytes
        self.lower = lower
        self.upper = upper
    }
}
