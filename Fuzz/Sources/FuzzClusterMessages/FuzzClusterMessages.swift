import HarnessSupport
@_spi(Fuzzing) import HawkerCluster

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    resetTrapSignals()
    return 0
}

/// What a cluster node reads from Redis, whatever another node (or something pretending
/// to be one) published: the bus's requests, replies and notices, the forwarded commands
/// and their answers, and a stream channel's events and pushes. Must never trap, and
/// whatever reads must read back the same once written again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClusterMessages(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let bytes = input.rest()
    let decoded = ClusterFuzzing.decode(bytes)
    require(decoded.roundTrips, "a message read from Redis did not read back the same once written: \(String(decoding: bytes, as: UTF8.self))")
    return 0
}
