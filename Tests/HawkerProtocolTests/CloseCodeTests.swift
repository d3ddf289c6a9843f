import HawkerProtocol
import Testing

@Suite("CloseCode")
struct CloseCodeTests {

    /// PROTOCOL.md §10.
    @Test func table() {
        let table: [(CloseCode, UInt16, Bool)] = [
            (.normal, 1000, false),
            (.goingAway, 1001, true),
            (.protocolError, 1002, false),
            (.unsupportedData, 1003, false),
            (.invalidPayload, 1007, false),
            (.policyViolation, 1008, false),
            (.messageTooBig, 1009, false),
            (.internalError, 1011, true),
            (.connectTimeout, 4000, true),
            (.slowConsumer, 4001, true),
            (.flood, 4002, true),
            (.idleTimeout, 4003, true),
            (.unauthorized, 4500, false),
            (.tokenExpired, 4501, false),
            (.tooManyErrors, 4502, false),
        ]
        for (code, raw, reconnect) in table {
            #expect(code.rawValue == raw)
            #expect(code.shouldReconnect == reconnect, "\(code)")
        }
    }

    /// Codes not in the table are treated by their range.
    @Test func unknownCodesByRange() {
        for raw: UInt16 in [4004, 4250, 4499] {
            #expect(CloseCode(raw, "unknown").shouldReconnect, "\(raw)")
        }
        for raw: UInt16 in [4503, 4700, 4999] {
            #expect(!CloseCode(raw, "unknown").shouldReconnect, "\(raw)")
        }
    }

    @Test func description() {
        #expect(CloseCode.slowConsumer.description == "4001 slow_consumer")
    }
}
