import HawkerWebSocket
import Testing

@Suite("PerMessageDeflateParameters.negotiate")
struct PerMessageDeflateNegotiationTests {

    @Test func plainOffer() throws {
        let accepted = try #require(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate"]))
        #expect(accepted.serverMaxWindowBits == 15)
        #expect(!accepted.clientNoContextTakeover)
        #expect(accepted.responseHeaderValue == "permessage-deflate; server_no_context_takeover")
    }

    @Test func nameIsCaseInsensitiveAndSpacesAreTrimmed() throws {
        let accepted = try #require(PerMessageDeflateParameters.negotiate(offers: ["  PerMessage-Deflate ;  client_no_context_takeover "]))
        #expect(accepted.clientNoContextTakeover)
    }

    @Test func clientNoContextTakeover() throws {
        let accepted = try #require(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate; client_no_context_takeover"]))
        #expect(accepted.clientNoContextTakeover)
        #expect(accepted.serverMaxWindowBits == 15)
        #expect(accepted.responseHeaderValue == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    @Test func serverNoContextTakeoverIsAlwaysFine() throws {
        let accepted = try #require(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate; server_no_context_takeover"]))
        #expect(accepted.responseHeaderValue == "permessage-deflate; server_no_context_takeover")
    }

    @Test func serverMaxWindowBits10() throws {
        let accepted = try #require(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate; server_max_window_bits=10"]))
        #expect(accepted.serverMaxWindowBits == 10)
        #expect(accepted.responseHeaderValue == "permessage-deflate; server_no_context_takeover; server_max_window_bits=10")
    }

    @Test func quotedWindowBits() throws {
        let accepted = try #require(PerMessageDeflateParameters.negotiate(offers: [#"permessage-deflate; server_max_window_bits="12""#]))
        #expect(accepted.serverMaxWindowBits == 12)
    }

    @Test func allParameters() throws {
        let accepted = try #require(
            PerMessageDeflateParameters.negotiate(offers: [
                "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8"
            ])
        )
        #expect(accepted.serverMaxWindowBits == 9)
        #expect(accepted.clientNoContextTakeover)
        #expect(accepted.responseHeaderValue == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9")
    }

    @Test func clientMaxWindowBitsWithoutValue() throws {
        let accepted = try #require(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate; client_max_window_bits"]))
        #expect(accepted.serverMaxWindowBits == 15)
    }

    @Test(arguments: [
        "permessage-deflate; server_max_window_bits=8",  // zlib cannot do raw deflate with 8
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover=yes",
    ])
    func invalidValuesAreDeclined(_ offer: String) {
        #expect(PerMessageDeflateParameters.negotiate(offers: [offer]) == nil)
    }

    /// A client controls this header: malformed parameter lists must be declined, not crash.
    @Test(arguments: ["permessage-deflate; ; client_no_context_takeover", "permessage-deflate;=", "permessage-deflate; \t ;"])
    func emptyParameterDeclined(_ offer: String) {
        #expect(PerMessageDeflateParameters.negotiate(offers: [offer]) == nil)
    }

    @Test func duplicateParameterDeclined() {
        #expect(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate; client_no_context_takeover; client_no_context_takeover"]) == nil)
        #expect(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate; server_max_window_bits=10; server_max_window_bits=12"]) == nil)
    }

    @Test func unknownParameterDeclinedAndTheNextOfferAccepted() throws {
        let offers = ["permessage-deflate; x_webkit_deflate_frame; server_max_window_bits=10, permessage-deflate; client_no_context_takeover"]
        let accepted = try #require(PerMessageDeflateParameters.negotiate(offers: offers))
        #expect(accepted.clientNoContextTakeover)
        #expect(accepted.serverMaxWindowBits == 15)  // not from the declined offer
    }

    @Test func offersAcrossSeveralHeaderValues() throws {
        let accepted = try #require(
            PerMessageDeflateParameters.negotiate(offers: ["x-webkit-deflate-frame", "permessage-deflate; foo=1", "permessage-deflate; server_max_window_bits=11"])
        )
        #expect(accepted.serverMaxWindowBits == 11)
    }

    @Test func noDeflateOffer() {
        #expect(PerMessageDeflateParameters.negotiate(offers: []) == nil)
        #expect(PerMessageDeflateParameters.negotiate(offers: [""]) == nil)
        #expect(PerMessageDeflateParameters.negotiate(offers: ["x-webkit-deflate-frame, deflate-stream"]) == nil)
    }

    @Test func responseHeaderValueForDefaults() {
        #expect(PerMessageDeflateParameters().responseHeaderValue == "permessage-deflate; server_no_context_takeover")
        #expect(
            PerMessageDeflateParameters(serverMaxWindowBits: 13, clientNoContextTakeover: true).responseHeaderValue
                == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=13"
        )
    }
}
