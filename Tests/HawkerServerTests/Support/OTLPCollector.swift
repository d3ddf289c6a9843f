import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// An OpenTelemetry collector's OTLP/HTTP receiver, as far as the tests need one: it keeps
/// every request (path, content type, raw body) and answers 200 with an empty
/// `ExportTraceServiceResponse`.
final class OTLPCollector: Sendable {
    struct Export: Sendable {
        var path: String
        var contentType: String?
        var body: [UInt8]

        /// Whether the protobuf body holds `text` (strings are stored as their UTF-8 bytes).
        func contains(_ text: String) -> Bool {
            contains(bytes: Array(text.utf8))
        }

        func contains(bytes needle: [UInt8]) -> Bool {
            guard !needle.isEmpty, needle.count <= body.count else { return false }
            return (0...(body.count - needle.count)).contains { body[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
    }

    private let exports = NIOLockedValueBox<[Export]>([])
    private let server = TestHTTPServer()

    var received: [Export] { exports.withLockedValue { $0 } }

    /// The base URL, as `tracing.otlp_endpoint` takes it.
    func start() async throws -> String {
        try await server.start { [exports] head, body in
            exports.withLockedValue {
                $0.append(Export(path: head.uri, contentType: head.headers.first(name: "Content-Type"), body: Array(body.readableBytesView)))
            }
            // An empty ExportTraceServiceResponse.
            return TestHTTPServer.Response(status: .ok, contentType: "application/x-protobuf", body: "")
        }
        return "http://127.0.0.1:\(server.port)"
    }

    func stop() async {
        await server.stop()
    }
}
