/// Byte tests for the ASCII fast paths of chat text handling.
extension UInt8 {
    var isASCIIDigit: Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) }
    var isASCIILetter: Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self | 0x20) }
    var isASCIILetterOrDigit: Bool { isASCIIDigit || isASCIILetter }
    /// Lower-cases letters; other bytes unchanged.
    var asciiLowercased: UInt8 { isASCIILetter ? self | 0x20 : self }
}
