import HarnessSupport
import HawkerProtocol
import NIOCore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// JSONParser.parse on any bytes. Checked on every input:
///  - parse never traps (it may throw `JSONParser.Failure`);
///  - JSONDepthScanner, which guards the parser against deep input, never traps and
///    agrees with the parser on valid JSON: the parser's `maxDepth` refuses exactly the
///    text the scanner finds nested deeper (at least as deep as the value: of duplicate
///    keys the first wins);
///  - a parsed value written with the server's writer parses back to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { UnsafeRawBufferPointer(start: $0, count: count) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
    let input = ByteBuffer(bytes: bytes)
    let withinDefault = JSONDepthScanner.depthIsWithin(bytes, limit: 64)
    let value: JSONValue
    do {
        value = try JSONParser.parse(input)
    } catch {
        require(error.offset >= 0 && error.offset <= count, "failure offset \(error.offset) outside the input (\(count) bytes)")
        return 0
    }
    // The text's nesting (what the parser's limit applies to) can exceed the value's:
    // of duplicate keys the first wins, and a dropped later one may nest deeper.
    require(value.depth <= 64, "parsed a value nested \(value.depth) deep with maxDepth 64")
    require(withinDefault, "the depth scanner refuses what the parser accepted (value depth \(value.depth))")
    guard let depth = (value.depth...64).first(where: { JSONDepthScanner.depthIsWithin(bytes, limit: $0) }) else {
        fatalError("no depth limit up to 64 satisfies the depth scanner")
    }
    if depth > 0 {
        require(!JSONDepthScanner.depthIsWithin(bytes, limit: depth - 1), "the depth scanner is not monotonic at \(depth)")
        require((try? JSONParser.parse(input, maxDepth: depth - 1)) == nil, "maxDepth \(depth - 1) accepted text nested \(depth) deep")
    }
    require((try? JSONParser.parse(input, maxDepth: depth)) == value, "maxDepth \(depth) refused or changed text nested \(depth) deep")
    requireWriterRoundTrip(value, "parse → write → parse")
    return 0
}
