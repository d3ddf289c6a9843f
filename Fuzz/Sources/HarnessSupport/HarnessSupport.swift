import Dispatch
import HawkerProtocol
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every fuzzer's `LLVMFuzzerInitialize` does: Swift traps (precondition, bounds,
/// overflow, force-unwrap) raise SIGILL/SIGTRAP, and the Swift runtime's backtracer
/// claims those at startup; libFuzzer does not take over a signal that already has a
/// handler, so without this no crash-* file is written and the process dies with 132.
/// (Running with SWIFT_BACKTRACE=enable=no has the same effect; scripts/fuzz.sh does both.)
public func resetTrapSignals() {
    signal(SIGILL, SIG_DFL)
    signal(SIGTRAP, SIG_DFL)
}

/// Reads a fuzz input from the front: bytes for choices, the rest as data.
public struct FuzzInput {
    public private(set) var bytes: ArraySlice<UInt8>

    public init(_ start: UnsafeRawPointer?, _ count: Int) {
        if let start, count > 0 {
            bytes = ArraySlice(UnsafeRawBufferPointer(start: start, count: count))
        } else {
            bytes = []
        }
    }

    public var isEmpty: Bool { bytes.isEmpty }

    /// The next byte, or 0 when the input is used up.
    public mutating func byte() -> UInt8 {
        bytes.popFirst() ?? 0
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { bytes = [] }
        return Array(bytes)
    }
}

/// Runs async work to completion from a synchronous fuzz entry point (libFuzzer calls
/// in on its own thread; the work runs on the concurrency pool meanwhile).
public func runBlocking<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await work()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Written by the task, read after the semaphore: no concurrent access.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

// MARK: - Checks

/// `precondition` that reports its message in release builds too (optimized builds drop
/// a precondition's message; libFuzzer's log should say what broke).
@inline(__always)
public func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError(message(), file: file, line: line) }
}

// MARK: - JSON checks

extension JSONValue {
    /// Every integer in the value, nested ones included.
    public var allIntegers: [Int64] {
        switch self {
        case .int(let value): return [value]
        case .array(let values): return values.flatMap(\.allIntegers)
        case .object(let members): return members.values.flatMap(\.allIntegers)
        default: return []
        }
    }

    /// Whether the value holds a double anywhere.
    public var containsDouble: Bool {
        switch self {
        case .double: return true
        case .array(let values): return values.contains { $0.containsDouble }
        case .object(let members): return members.values.contains { $0.containsDouble }
        default: return false
        }
    }
}

/// Fails unless every integer in `value` is one a JSON peer holds exactly (±(2^53 − 1)).
public func requireSafeIntegers(_ value: JSONValue, _ what: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    for number in value.allIntegers where number.magnitude > JSONValue.maxSafeInteger.magnitude {
        fatalError("\(what()): integer \(number) is outside ±(2^53 − 1) in \(value)", file: file, line: line)
    }
}

/// Fails unless `value`, written with the server's writer, parses back to itself.
public func requireWriterRoundTrip(_ value: JSONValue, _ what: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    var written = ByteBuffer()
    value.write(into: &written)
    let reparsed: JSONValue
    do {
        reparsed = try JSONParser.parse(written, maxDepth: 1_000)
    } catch {
        fatalError("\(what()): written JSON does not parse (\(error)): \(String(buffer: written))", file: file, line: line)
    }
    require(reparsed == value, "\(what()): round trip changed \(value) into \(reparsed)", file: file, line: line)
}
