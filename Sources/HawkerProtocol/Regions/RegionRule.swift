/// A place a product ships to or a merchant's zone covers, written as a short string:
///
/// - `DE`: a country (ISO 3166-1 alpha-2);
/// - `DE-BE`: a subdivision (ISO 3166-2);
/// - `DE:10`: postcodes starting with 10;
/// - `DE:10000-14999`: postcodes whose first five characters are in that range (both
///   ends the same length, compared character by character, so digits compare as numbers).
///
/// Postcodes are compared upper case without spaces and dashes, so `GB:SW1-SW9` covers
/// "SW1A 1AA".
public enum RegionRule: Sendable, Hashable {
    case country(String)
    case subdivision(country: String, code: String)
    case postcodes(country: String, from: String, through: String)
    /// A free string kept from before regions were structured (a restored catalog): it
    /// matches a destination whose region, country or postcode is that string.
    case legacy(String)

    public static let maxLength = 32

    /// Parses the written form; nil when it is not one of the forms above.
    public init?(_ text: String) {
        // ASCII only: full Unicode upper-casing would turn "ß" into "SS".
        guard (2...Self.maxLength).contains(text.utf8.count), text.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        if let colon = text.firstIndex(of: ":") {
            guard let country = CountryCode.canonical(text[..<colon]) else { return nil }
            let codes = text[text.index(after: colon)...].uppercased().split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            func valid(_ code: String) -> Bool {
                (1...Destination.maxPostcodeLength).contains(code.utf8.count) && code.utf8.allSatisfy(\.isASCIIAlphanumeric)
            }
            switch codes.count {
            case 1 where valid(codes[0]):
                self = .postcodes(country: country, from: codes[0], through: codes[0])
            case 2 where valid(codes[0]) && valid(codes[1]) && codes[0].utf8.count == codes[1].utf8.count && codes[0] <= codes[1]:
                self = .postcodes(country: country, from: codes[0], through: codes[1])
            default:
                return nil
            }
        } else if let destination = Destination(region: text) {
            self = destination.subdivision.map { .subdivision(country: destination.country, code: $0) } ?? .country(destination.country)
        } else {
            return nil
        }
    }

    /// A rule read back from saved state: the structured form, or the string as it was.
    public init(restoring text: String) {
        self = RegionRule(text) ?? .legacy(text)
    }

    /// Whether an order to `destination` is covered.
    public func matches(_ destination: Destination) -> Bool {
        switch self {
        case .country(let country):
            return destination.country == country
        case .subdivision(let country, let code):
            return destination.country == country && destination.subdivision == code
        case .postcodes(let country, let from, let through):
            guard destination.country == country, let postcode = destination.postcode, postcode.utf8.count >= from.utf8.count else { return false }
            let head = String(postcode.prefix(from.count))
            return from <= head && head <= through
        case .legacy(let text):
            let text = text.uppercased()
            return text == destination.region || text == destination.country || text == destination.postcode
        }
    }

    /// The written form (canonical: upper case).
    public var text: String {
        switch self {
        case .country(let country): country
        case .subdivision(let country, let code): "\(country)-\(code)"
        case .postcodes(let country, let from, let through): from == through ? "\(country):\(from)" : "\(country):\(from)-\(through)"
        case .legacy(let text): text
        }
    }
}

extension RegionRule: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(restoring: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

extension [RegionRule] {
    /// Whether any rule matches; an empty list matches everywhere.
    public func covers(_ destination: Destination) -> Bool {
        isEmpty || contains { $0.matches(destination) }
    }
}
