import Foundation
import HawkerCommerce
import HawkerOrders
import HawkerProtocol
import NIOCore

/// A merchant registered at run time (`PUT /v1/merchants/{id}`): where its orders go,
/// who sets its stock, and its terms (zones, shipping, tax). It replaces the merchant's
/// `merchants.<id>.*` configuration while it stands; removing it brings that back.
/// Stored as a revisioned document beside the outbox, read by every node.
struct MerchantProfile: RevisionedDocument {
    var id: String
    var revision: Int64 = 0
    /// For people: "Anna's Tea".
    var name: String?
    /// Kind nil: `orders.default_backend`.
    var backend: MerchantBackendConfiguration
    var terms: MerchantTerms?
    /// Products another merchant ships for this one (dropship).
    var suppliers: [String: Supplier] = [:]
    var updatedAt: Int64
    /// Removed: kept (so other nodes hear of it) and no longer in force.
    var removedAt: Int64?

    static let maxMerchants = 10_000

    var key: String { id }

    var isActive: Bool { removedAt == nil }

    /// The stored form, secret included.
    var json: JSONValue {
        var object = publicJSON.objectValue ?? [:]
        if var backendJSON = object["backend"]?.objectValue {
            backendJSON["secret"] = backend.secret.map(JSONValue.string)
            backendJSON["secret_set"] = nil
            backendJSON["postgres_url"] = backend.postgresURL.map(JSONValue.string)
            object["backend"] = .object(backendJSON)
        }
        return .object(object)
    }

    /// What the API answers: the webhook secret only as `secret_set`.
    var publicJSON: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "revision": .int(revision), "stock": .string(backend.stock.rawValue), "updated_at": .int(updatedAt),
        ]
        // No backend: the gateway's default (`orders.default_backend`).
        if let kind = backend.kind {
            var backendJSON: [String: JSONValue] = [
                "kind": .string(kind.rawValue), "timeout_ms": .int(Int64(backend.timeoutMilliseconds)),
                "visibility_timeout_ms": .int(Int64(backend.visibilityTimeoutMilliseconds)),
            ]
            if let url = backend.url { backendJSON["url"] = .string(url) }
            if backend.secret != nil { backendJSON["secret_set"] = true }
            if let url = backend.postgresURL { backendJSON["postgres_url"] = .string(Self.redacted(url)) }
            object["backend"] = .object(backendJSON)
        }
        if let name { object["name"] = .string(name) }
        if let terms { object["terms"] = terms.json }
        if !suppliers.isEmpty { object["suppliers"] = .object(suppliers.mapValues(\.json)) }
        if let removedAt { object["removed_at"] = .int(removedAt) }
        return .object(object)
    }

    /// A PostgreSQL URL without its password.
    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://"), scheme.upperBound < at else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    init(
        id: String, name: String?, backend: MerchantBackendConfiguration, terms: MerchantTerms?, suppliers: [String: Supplier] = [:], updatedAt: Int64,
        removedAt: Int64? = nil
    ) {
        self.id = id
        self.name = name
        self.backend = backend
        self.terms = terms
        self.suppliers = suppliers
        self.updatedAt = updatedAt
        self.removedAt = removedAt
    }

    init?(revision: Int64, document: String) {
        guard let json = try? JSONParser.parse(ByteBuffer(string: document)), let object = json.objectValue, let id = object["id"]?.stringValue,
            let updatedAt = object["updated_at"]?.intValue,
            let registration = try? MerchantRegistration.parse(object.filter { MerchantRegistration.fields.contains($0.key) }, id: id, stored: true)
        else { return nil }
        self.init(
            id: id, name: registration.name, backend: registration.backend, terms: registration.terms, suppliers: registration.suppliers,
            updatedAt: updatedAt, removedAt: object["removed_at"]?.intValue)
        self.revision = revision
    }
}
