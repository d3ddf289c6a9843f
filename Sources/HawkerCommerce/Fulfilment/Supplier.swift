import HawkerProtocol

/// Who ships a product for its seller (dropship), and what the seller pays it per unit:
/// the seller's business, registered with the seller (`MerchantTermsPolicy.supplier`),
/// never in a host's catalog or shown to viewers and buyers. The seller of record sells,
/// sets the retail price, is paid and owes the tax; the supplier gets a shipment of the
/// units at `price`.
public struct Supplier: Sendable, Hashable, Codable {
    /// The supplier's merchant id: its shipments go to its order backend.
    public var merchant: String
    /// Per unit, in minor units of the product's currency.
    public var price: Int64

    public init(merchant: String, price: Int64) {
        self.merchant = merchant
        self.price = price
    }

    /// `{merchant, price}`, as a host's catalog gives it and as it is stored.
    public var json: JSONValue { ["merchant": .string(merchant), "price": .int(price)] }

    public init?(json: JSONValue?) {
        guard let merchant = json?["merchant"]?.stringValue, Identifier.isValid(merchant), let price = json?["price"]?.intValue,
            (0...JSONValue.maxSafeInteger).contains(price)
        else { return nil }
        self.init(merchant: merchant, price: price)
    }
}
