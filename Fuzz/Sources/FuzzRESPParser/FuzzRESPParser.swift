import HarnessSupport
import HawkerRedis
import NIOCore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// RESPParser on whatever a Redis server (or something pretending to be one) could send.
/// Checked on every input, with the default limits and with tight ones:
///  - parse never traps, and reads values one after another until the bytes run out, one
///    is incomplete (nothing consumed) or one is refused;
///  - a value read from k bytes is not read from fewer: every prefix gives nil;
///  - a value written back as RESP3 reads back as the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESPParser(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { UnsafeRawBufferPointer(start: $0, count: count) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
    let tight = RESPParser.Limits(maxBulkBytes: 64, maxElements: 8, maxDepth: 3, maxLineBytes: 32)
    for parser in [RESPParser(), RESPParser(limits: tight)] {
        var buffer = ByteBuffer(bytes: bytes)
        while buffer.readableBytes > 0 {
            let before = buffer
            let value: RESPValue?
            do {
                value = try parser.parse(&buffer)
            } catch {
                require(error.code == .protocolViolation, "parse threw \(error)")
                break
            }
            guard let value else {
                require(buffer == before, "an incomplete value consumed bytes")
                break
            }
            let used = before.readableBytes - buffer.readableBytes
            require(used > 0, "a value read from no bytes")
            for cut in Set([0, 1, used / 2, used - 1]) where cut < used {
                var prefix = before.getSlice(at: before.readerIndex, length: cut)!
                require((try? parser.parse(&prefix)) == .some(nil), "a prefix of \(cut) of \(used) bytes read as a value")
            }
            var written = ByteBuffer()
            write(value, to: &written)
            var again = written
            let reread = try? RESPParser(limits: .init(maxBulkBytes: 1 << 26, maxElements: 1 << 20, maxDepth: 64, maxLineBytes: 1 << 22)).parse(&again)
            require(reread.map { same($0, value) } == true && again.readableBytes == 0, "\(value) did not read back from its RESP")
        }
    }
    return 0
}

/// Equal, but a NaN equals a NaN.
private func same(_ a: RESPValue, _ b: RESPValue) -> Bool {
    switch (a, b) {
    case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
    case (.array(let x), .array(let y)), (.set(let x), .set(let y)), (.push(let x), .push(let y)):
        return x.count == y.count && zip(x, y).allSatisfy(same)
    case (.map(let x), .map(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { same($0.key, $1.key) && same($0.value, $1.value) }
    default: return a == b
    }
}

private func write(_ value: RESPValue, to buffer: inout ByteBuffer) {
    func aggregate(_ marker: String, _ values: [RESPValue]) {
        buffer.writeString("\(marker)\(values.count)\r\n")
        for element in values { write(element, to: &buffer) }
    }
    switch value {
    case .simpleString(let text): buffer.writeString("+\(text)\r\n")
    case .error(let text):
        buffer.writeString("!\(text.utf8.count)\r\n\(text)\r\n")
    case .integer(let number): buffer.writeString(":\(number)\r\n")
    case .bulkString(let bytes):
        buffer.writeString("$\(bytes.readableBytes)\r\n")
        buffer.writeImmutableBuffer(bytes)
        buffer.writeString("\r\n")
    case .null: buffer.writeString("_\r\n")
    case .boolean(let flag): buffer.writeString(flag ? "#t\r\n" : "#f\r\n")
    case .double(let number):
        buffer.writeString(number.isNaN ? ",nan\r\n" : number == .infinity ? ",inf\r\n" : number == -.infinity ? ",-inf\r\n" : ",\(number)\r\n")
    case .bigNumber(let digits): buffer.writeString("(\(digits)\r\n")
    case .array(let values): aggregate("*", values)
    case .set(let values): aggregate("~", values)
    case .push(let values): aggregate(">", values)
    case .map(let pairs):
        buffer.writeString("%\(pairs.count)\r\n")
        for pair in pairs {
            write(pair.key, to: &buffer)
            write(pair.value, to: &buffer)
        }
    }
}
