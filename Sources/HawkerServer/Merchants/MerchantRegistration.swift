import Foundation
import HawkerCommerce
import HawkerOrders
import HawkerProtocol

/// The body of `PUT /v1/merchants/{id}`, checked before anything is stored:
/// `{name?, backend?: {kind, url?, secret?, timeout_ms?, postgres_url?, visibility_timeout_ms?}, stock?, terms?,
/// suppliers?: {<product id>: {merchant, price}}}`.
struct MerchantRegistration: Sendable, Hashable {
    var name: String?
    var backend: MerchantBackendConfiguration
    var terms: MerchantTerms?
    /// Products another merchant ships for this one (dropship), by product id.
    var suppliers: [String: Supplier] = [:]

    /// Most products a merchant has shipped by suppliers.
    static let maxSuppliedProducts = 1_000

    struct Invalid: Error, Sendable {
        var message: String
    }

    static let fields: Set<String> = ["name", "backend", "stock", "terms", "suppliers"]
    static let backendFields: Set<String> = ["kind", "url", "secret", "secret_set", "timeout_ms", "postgres_url", "visibility_timeout_ms"]

    /// `stored`: a document read back (its `secret_set` and other output fields pass).
    /// `id`: the merchant's own (a merchant does not supply itself).
    static func parse(_ fields: [String: JSONValue], id: String, stored: Bool = false) throws(Invalid) -> MerchantRegistration {
        if let unknown = fields.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw Invalid(message: "unknown field '\(unknown)' (fields: \(Self.fields.sorted().joined(separator: ", ")))")
        }
        var name: String?
        if let value = fields["name"], value != .null {
            guard let text = value.stringValue, (1...100).contains(text.unicodeScalars.count) else { throw Invalid(message: "'name' is 1-100 characters") }
            name = text
        }
        var backend = MerchantBackendConfiguration(kind: nil)
        if let value = fields["backend"], value != .null {
            guard let object = value.objectValue else { throw Invalid(message: "'backend' is an object {kind, ...}") }
            if let unknown = object.keys.sorted().first(where: { !Self.backendFields.contains($0) || (!stored && $0 == "secret_set") }) {
                throw Invalid(message: "unknown field 'backend.\(unknown)'")
            }
            guard let kind = object["kind"]?.stringValue.flatMap(MerchantBackendConfiguration.Kind.init(rawValue:)) else {
                throw Invalid(
                    message: "'backend.kind' is one of \(MerchantBackendConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", ")) (leave 'backend' out for the default)")
            }
            backend.kind = kind
            func text(_ name: String) throws(Invalid) -> String? {
                guard let value = object[name], value != .null else { return nil }
                guard let text = value.stringValue, (1...2048).contains(text.utf8.count) else { throw Invalid(message: "'backend.\(name)' is a string of 1-2048 bytes") }
                return text
            }
            func milliseconds(_ name: String) throws(Invalid) -> Int? {
                guard let value = object[name], value != .null else { return nil }
                guard let number = value.intValue, (1...3_600_000).contains(number) else { throw Invalid(message: "'backend.\(name)' is milliseconds in 1-3600000") }
                return Int(number)
            }
            backend.url = try text("url")
            backend.secret = try text("secret")
            backend.postgresURL = try text("postgres_url")
            if let timeout = try milliseconds("timeout_ms") { backend.timeoutMilliseconds = timeout }
            if let timeout = try milliseconds("visibility_timeout_ms") { backend.visibilityTimeoutMilliseconds = timeout }
            // A stored document's PostgreSQL URL is kept whole; the API shows it redacted.
            do {
                try backend.validate(merchant: "<id>")
                if kind == .postgres, !stored { try PostgresOrderBackend.check(url: backend.postgresURL ?? "") }
            } catch {
                throw Invalid(message: "\(error)".replacingOccurrences(of: "merchants.<id>.", with: "backend."))
            }
        }
        if let value = fields["stock"], value != .null {
            guard let authority = value.stringValue.flatMap(MerchantBackendConfiguration.StockAuthority.init(rawValue:)) else {
                throw Invalid(message: "'stock' is shared (hosts and the merchant's inventory API set levels) or merchant (its API alone)")
            }
            backend.stock = authority
        }
        var terms: MerchantTerms?
        if let value = fields["terms"], value != .null {
            do throws(MerchantTerms.Invalid) {
                terms = try MerchantTerms.parse(value)
            } catch {
                throw Invalid(message: error.message)
            }
        }
        var suppliers: [String: Supplier] = [:]
        if let value = fields["suppliers"], value != .null {
            guard let object = value.objectValue, object.count <= Self.maxSuppliedProducts else {
                throw Invalid(message: "'suppliers' is an object {<product id>: {merchant, price}} of at most \(Self.maxSuppliedProducts) products")
            }
            for (product, entry) in object.sorted(by: { $0.key < $1.key }) {
                guard Identifier.isValid(product) else { throw Invalid(message: "'suppliers' keys are product ids: 1-64 of [A-Za-z0-9_.:-], got '\(product)'") }
                guard let fields = entry.objectValue, Set(fields.keys) == ["merchant", "price"], let supplier = Supplier(json: entry),
                    // A cart's units at this price stay within 2^53 − 1.
                    supplier.price <= JSONValue.maxSafeInteger / CheckoutRequest.maxQuantity
                else {
                    throw Invalid(
                        message:
                            "'suppliers.\(product)' is {merchant: a merchant id, price: an integer in 0...\(JSONValue.maxSafeInteger / CheckoutRequest.maxQuantity)}")
                }
                guard supplier.merchant != id else { throw Invalid(message: "'suppliers.\(product).merchant': a merchant does not supply itself") }
                suppliers[product] = supplier
            }
        }
        return MerchantRegistration(name: name, backend: backend, terms: terms, suppliers: suppliers)
    }
}
