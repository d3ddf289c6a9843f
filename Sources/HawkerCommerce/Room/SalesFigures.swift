import HawkerProtocol

/// The money of a stream's sales, for its host's insights: per currency (never mixed)
/// and per merchant of record. Accepted checkouts count when accepted; their orders'
/// amounts as each merchant confirms or fails its part.
struct SalesFigures: Sendable, Hashable, Codable {
    struct Figures: Sendable, Hashable, Codable {
        /// Accepted checkouts with a line in this currency (and, per merchant, of its).
        var checkouts: Int64 = 0
        var units: Int64 = 0
        /// What those lines cost when accepted.
        var revenue: Int64 = 0
        /// Orders confirmed and failed so far, and what their lines cost.
        var confirmedOrders: Int64 = 0
        var failedOrders: Int64 = 0
        var confirmedRevenue: Int64 = 0
        var failedRevenue: Int64 = 0
        /// Units of confirmed orders taken back (cancelled, returned), and what they cost.
        var returnedUnits: Int64 = 0
        var returnedRevenue: Int64 = 0

        /// Counts stay within 2^53 − 1 (and at zero or more) whatever is added.
        static func add(_ value: inout Int64, _ amount: Int64) {
            let (sum, overflow) = value.addingReportingOverflow(amount)
            value = overflow ? (amount > 0 ? JSONValue.maxSafeInteger : 0) : min(max(0, sum), JSONValue.maxSafeInteger)
        }
    }

    /// By currency.
    var byCurrency: [String: Figures] = [:]
    /// By merchant, then currency.
    var byMerchant: [String: [String: Figures]] = [:]

    /// Merchants and currencies counted apart; the rest under "other".
    static let maxKeys = 1_000

    private static func key<Value>(_ key: String, in values: [String: Value]) -> String {
        values[key] != nil || values.count < maxKeys ? key : "other"
    }

    /// `lines` by currency, and by merchant and currency: (units, amount).
    private static func sums(_ lines: [Reservation.Line]) -> [String: [String: (units: Int64, amount: Int64)]] {
        var sums: [String: [String: (units: Int64, amount: Int64)]] = [:]
        for line in lines {
            var entry = sums[line.merchant, default: [:]][line.currency, default: (0, 0)]
            Figures.add(&entry.units, line.quantity)
            Figures.add(&entry.amount, line.amount)
            sums[line.merchant, default: [:]][line.currency] = entry
        }
        return sums
    }

    /// An accepted checkout (`sign` 1), or one taken back (-1: it could not be recorded).
    mutating func checkout(_ lines: [Reservation.Line], sign: Int64 = 1) {
        var currencies: [String: (units: Int64, amount: Int64)] = [:]
        for (merchant, byCurrency) in Self.sums(lines) {
            let merchantKey = Self.key(merchant, in: byMerchant)
            for (currency, sum) in byCurrency {
                let currencyKey = Self.key(currency, in: byMerchant[merchantKey] ?? [:])
                var figures = byMerchant[merchantKey, default: [:]][currencyKey, default: Figures()]
                Figures.add(&figures.checkouts, sign)
                Figures.add(&figures.units, sign * sum.units)
                Figures.add(&figures.revenue, sign * sum.amount)
                byMerchant[merchantKey, default: [:]][currencyKey] = figures
                var total = currencies[currency, default: (0, 0)]
                Figures.add(&total.units, sum.units)
                Figures.add(&total.amount, sum.amount)
                currencies[currency] = total
            }
        }
        for (currency, sum) in currencies {
            let currencyKey = Self.key(currency, in: byCurrency)
            var figures = byCurrency[currencyKey, default: Figures()]
            Figures.add(&figures.checkouts, sign)
            Figures.add(&figures.units, sign * sum.units)
            Figures.add(&figures.revenue, sign * sum.amount)
            byCurrency[currencyKey] = figures
        }
    }

    /// One merchant's part of a checkout settled: `lines` are that part's.
    mutating func order(_ lines: [Reservation.Line], confirmed: Bool) {
        for (merchant, byCurrency) in Self.sums(lines) {
            let merchantKey = Self.key(merchant, in: byMerchant)
            for (currency, sum) in byCurrency {
                let currencyKey = Self.key(currency, in: self.byCurrency)
                var total = self.byCurrency[currencyKey, default: Figures()]
                Self.settle(&total, amount: sum.amount, confirmed: confirmed)
                self.byCurrency[currencyKey] = total
                let merchantCurrency = Self.key(currency, in: byMerchant[merchantKey] ?? [:])
                var figures = byMerchant[merchantKey, default: [:]][merchantCurrency, default: Figures()]
                Self.settle(&figures, amount: sum.amount, confirmed: confirmed)
                byMerchant[merchantKey, default: [:]][merchantCurrency] = figures
            }
        }
    }

    private static func settle(_ figures: inout Figures, amount: Int64, confirmed: Bool) {
        if confirmed {
            Figures.add(&figures.confirmedOrders, 1)
            Figures.add(&figures.confirmedRevenue, amount)
        } else {
            Figures.add(&figures.failedOrders, 1)
            Figures.add(&figures.failedRevenue, amount)
        }
    }

    /// Units of confirmed orders taken back: `lines` hold the units taken.
    mutating func returned(_ lines: [Reservation.Line]) {
        for (merchant, byCurrency) in Self.sums(lines) {
            let merchantKey = Self.key(merchant, in: byMerchant)
            for (currency, sum) in byCurrency {
                let currencyKey = Self.key(currency, in: self.byCurrency)
                var total = self.byCurrency[currencyKey, default: Figures()]
                Figures.add(&total.returnedUnits, sum.units)
                Figures.add(&total.returnedRevenue, sum.amount)
                self.byCurrency[currencyKey] = total
                let merchantCurrency = Self.key(currency, in: byMerchant[merchantKey] ?? [:])
                var figures = byMerchant[merchantKey, default: [:]][merchantCurrency, default: Figures()]
                Figures.add(&figures.returnedUnits, sum.units)
                Figures.add(&figures.returnedRevenue, sum.amount)
                byMerchant[merchantKey, default: [:]][merchantCurrency] = figures
            }
        }
    }

    /// `money` (per currency, with the average order value) and `merchants` of the insights.
    var json: (money: JSONValue, merchants: JSONValue) {
        func object(_ figures: Figures) -> [String: JSONValue] {
            [
                "checkouts": .int(figures.checkouts), "units": .int(figures.units), "revenue": .int(figures.revenue),
                "confirmed_orders": .int(figures.confirmedOrders), "failed_orders": .int(figures.failedOrders),
                "confirmed_revenue": .int(figures.confirmedRevenue), "failed_revenue": .int(figures.failedRevenue),
                "returned_units": .int(figures.returnedUnits), "returned_revenue": .int(figures.returnedRevenue),
            ]
        }
        let money = byCurrency.sorted { $0.key < $1.key }.map { currency, figures -> JSONValue in
            var entry = object(figures)
            entry["currency"] = .string(currency)
            // What an accepted checkout comes to on average, rounded down.
            entry["average_order_value"] = .int(figures.checkouts > 0 ? figures.revenue / figures.checkouts : 0)
            return .object(entry)
        }
        let merchants = byMerchant.sorted { $0.key < $1.key }.flatMap { merchant, currencies in
            currencies.sorted { $0.key < $1.key }.map { currency, figures -> JSONValue in
                var entry = object(figures)
                entry["merchant"] = .string(merchant)
                entry["currency"] = .string(currency)
                return .object(entry)
            }
        }
        return (.array(money), .array(merchants))
    }
}

extension SalesFigures {
    /// A saved copy, bounded as a live one is: at most `maxKeys` merchants and currencies,
    /// every figure within 0 ... 2^53 − 1.
    init(restoring saved: SalesFigures) {
        func clamped(_ figures: Figures) -> Figures {
            Figures(
                checkouts: SavedValues.clamp(figures.checkouts), units: SavedValues.clamp(figures.units), revenue: SavedValues.clamp(figures.revenue),
                confirmedOrders: SavedValues.clamp(figures.confirmedOrders), failedOrders: SavedValues.clamp(figures.failedOrders),
                confirmedRevenue: SavedValues.clamp(figures.confirmedRevenue), failedRevenue: SavedValues.clamp(figures.failedRevenue),
                returnedUnits: SavedValues.clamp(figures.returnedUnits), returnedRevenue: SavedValues.clamp(figures.returnedRevenue))
        }
        // A live map holds up to `maxKeys` names and "other": the same come back.
        func bounded<Value>(_ values: [String: Value]) -> [(key: String, value: Value)] {
            values.sorted { $0.key < $1.key }.filter { $0.key != "other" }.prefix(Self.maxKeys) + values.filter { $0.key == "other" }.map { ($0.key, $0.value) }
        }
        self.init()
        for (currency, figures) in bounded(saved.byCurrency) { byCurrency[currency] = clamped(figures) }
        for (merchant, currencies) in bounded(saved.byMerchant) {
            byMerchant[merchant] = Dictionary(uniqueKeysWithValues: bounded(currencies).map { ($0.key, clamped($0.value)) })
        }
    }
}

extension SalesFigures.Figures {
    /// Rooms saved before returns counted have no returned figures: zero.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func value(_ key: CodingKeys) throws -> Int64 { try container.decodeIfPresent(Int64.self, forKey: key) ?? 0 }
        self.init(
            checkouts: try value(.checkouts), units: try value(.units), revenue: try value(.revenue), confirmedOrders: try value(.confirmedOrders),
            failedOrders: try value(.failedOrders), confirmedRevenue: try value(.confirmedRevenue), failedRevenue: try value(.failedRevenue),
            returnedUnits: try value(.returnedUnits), returnedRevenue: try value(.returnedRevenue))
    }
}
