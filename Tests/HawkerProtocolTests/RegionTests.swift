import HawkerProtocol
import NIOCore
import Testing

/// Regions as products and merchants' zones write them, destinations as buyers send them,
/// and the commands that carry them.
@Suite struct RegionTests {
    @Test func rulesParseTheirFourFormsAndNothingElse() {
        #expect(RegionRule("de") == .country("DE"))
        #expect(RegionRule("DE-be") == .subdivision(country: "DE", code: "BE"))
        #expect(RegionRule("DE:10") == .postcodes(country: "DE", from: "10", through: "10"))
        #expect(RegionRule("gb:sw1-sw9") == .postcodes(country: "GB", from: "SW1", through: "SW9"))
        for bad in ["EU", "UK", "XX", "", "D", "DE-", "DE-BERL", "DE:", "DE:1-22", "DE:9-1", "DE:1-2-3", "DE:ü", String(repeating: "1", count: 40), "10115"] {
            #expect(RegionRule(bad) == nil, "\(bad)")
        }
        // Restored catalogs keep what they had.
        #expect(RegionRule(restoring: "EU") == .legacy("EU"))
        #expect(RegionRule(restoring: "at") == .country("AT"))
    }

    @Test func rulesMatchDestinations() {
        let berlin = Destination(country: "de", subdivision: "DE-BE", postcode: "101 15")!
        #expect(berlin.postcode == "10115" && berlin.subdivision == "BE" && berlin.region == "DE-BE")
        #expect(RegionRule("DE")!.matches(berlin))
        #expect(RegionRule("DE-BE")!.matches(berlin))
        #expect(!RegionRule("DE-BY")!.matches(berlin))
        #expect(RegionRule("DE:10")!.matches(berlin))
        #expect(RegionRule("DE:10000-14999")!.matches(berlin))
        #expect(!RegionRule("DE:20000-29999")!.matches(berlin))
        #expect(!RegionRule("AT")!.matches(berlin))
        // No postcode given: postcode rules do not match; a subdivision rule needs one too.
        #expect(!RegionRule("DE:10")!.matches("DE"))
        #expect(!RegionRule("DE-BE")!.matches("DE"))
        let london = Destination(country: "GB", postcode: "SW1A 1AA")!
        #expect(RegionRule("GB:SW1-SW9")!.matches(london))
        #expect(RegionRule.legacy("10115").matches(berlin))
        #expect([RegionRule]().covers(berlin))
    }

    @Test func destinationsAreChecked() {
        #expect(Destination(country: "EU") == nil)
        // Not upper-cased into a country: "ß" would be "SS" (South Sudan).
        #expect(Destination(country: "ß") == nil)
        #expect(Destination(country: "DE", postcode: "ßßßßß") == nil)
        #expect(RegionRule("ß") == nil && RegionRule("DE:ß") == nil)
        #expect(Destination(country: "DE", subdivision: "AT-9") == nil)
        #expect(Destination(country: "DE", postcode: "1234567890A") == nil)
        #expect(Destination(country: "DE", postcode: "") == nil)
        #expect(Destination(json: ["country": "DE", "city": "Berlin"]) == nil)
        #expect(Destination(json: ["country": "DE", "postcode": 10115]) == nil)
        let read = Destination(json: ["country": "de", "subdivision": "be", "postcode": "10115"])
        #expect(read?.json == ["country": "DE", "subdivision": "DE-BE", "postcode": "10115"])
    }

    private func decode(_ json: String) -> Result<ClientCommand, CommandDecodingError> {
        do throws(CommandDecodingError) {
            return .success(try ClientCommand.decode(ByteBuffer(string: json)))
        } catch {
            return .failure(error)
        }
    }

    @Test func checkoutsCarryShipToAndTotalsSeen() throws {
        let command = try decode(
            #"{"type":"checkout","id":"k","stream":"s","items":[{"product":"p","qty":1,"price_seen":100}],"ship_to":{"country":"DE","postcode":"10115"},"totals_seen":[{"currency":"EUR","amount":590}],"idempotency_key":"k1"}"#
        ).get()
        guard case .checkout(_, _, let request) = command else {
            Issue.record("\(command)")
            return
        }
        #expect(request.shipTo == Destination(country: "DE", postcode: "10115"))
        #expect(request.totalsSeen == ["EUR": 590])
        // The short region still reads; anything but a country or subdivision does not.
        guard case .checkout(_, _, let short) = try decode(#"{"type":"checkout","id":"k","stream":"s","items":[{"product":"p","qty":1,"price_seen":1}],"region":"AT","idempotency_key":"k"}"#).get()
        else { return }
        #expect(short.shipTo == "AT")
        for bad in [
            #""region":"10115""#, #""region":"EU""#, #""ship_to":{"country":"XX"}"#, #""ship_to":"DE""#,
            #""region":"DE","totals_seen":[{"currency":"EUR","amount":1},{"currency":"EUR","amount":2}]"#,
            #""region":"DE","totals_seen":[{"currency":"EUR","amount":-1}]"#, #""region":"DE","totals_seen":[]"#,
        ] {
            let result = decode(#"{"type":"checkout","id":"k","stream":"s","items":[{"product":"p","qty":1,"price_seen":1}],\#(bad),"idempotency_key":"k"}"#)
            guard case .failure(let error) = result else {
                Issue.record("accepted \(bad)")
                continue
            }
            #expect([ErrorCode.badRequest, .invalidCheckout].contains(error.code), "\(bad): \(error)")
            #expect(error.id == "k")
        }
    }

    @Test func quotesCarryItemsWithoutPrices() throws {
        let command = try decode(#"{"type":"quote","id":"q","stream":"s","ship_to":{"country":"FR"},"items":[{"product":"p","variant":"v","qty":2}]}"#).get()
        #expect(command == .quote(id: "q", stream: StreamID("s")!, request: QuoteRequest(lines: [.init(product: "p", variant: "v", quantity: 2)], shipTo: "FR")))
        #expect(try decode(#"{"type":"quote","id":"q","stream":"s","region":"FR"}"#).get() == .quote(id: "q", stream: StreamID("s")!, request: QuoteRequest(lines: [], shipTo: "FR")))
        guard case .failure(let missing) = decode(#"{"type":"quote","id":"q","stream":"s"}"#) else {
            Issue.record("no destination accepted")
            return
        }
        #expect(missing.code == .badRequest)
        guard
            case .failure(let many) = decode(
                #"{"type":"quote","id":"q","stream":"s","region":"FR","items":\#(String(repeating: #"{"product":"p","qty":1},"#, count: 21).dropLast().description.wrappedInBrackets)}"#)
        else {
            Issue.record("21 items accepted")
            return
        }
        #expect(many.code == .badRequest)
    }
}

extension String {
    fileprivate var wrappedInBrackets: String { "[" + self + "]" }
}
