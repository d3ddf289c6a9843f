import HawkerCommerce
import HawkerProtocol

/// A shape-valid event; tests build only valid ones here.
func draft(_ kind: EventKind, _ data: [String: JSONValue]) -> EventDraft {
    try! EventDraft(kind: kind, data: data)
}

func product(_ id: String, price: Int64 = 1_000, stock: Int64? = 10, merchant: String = "m1", variants: [String] = [], regions: [String] = []) -> JSONValue {
    var object: [String: JSONValue] = ["id": .string(id), "title": .string("Product \(id)"), "merchant": .string(merchant), "price": .int(price), "currency": "EUR"]
    if let stock { object["stock"] = .int(stock) }
    if !variants.isEmpty { object["variants"] = .array(variants.map { ["id": .string($0), "title": .string($0.uppercased())] }) }
    if !regions.isEmpty { object["regions"] = .array(regions.map(JSONValue.string)) }
    return .object(object)
}

func catalog(_ products: JSONValue...) -> EventDraft {
    draft(.catalogSet, ["products": .array(products)])
}

let viewer = Author(user: "viewer-1", name: "Vi", role: "viewer", isStaff: false)
let host = Author(user: "host-1", name: "Hostess", role: "host", isStaff: true)
