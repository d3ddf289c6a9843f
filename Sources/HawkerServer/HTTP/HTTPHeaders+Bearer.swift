import NIOHTTP1

extension HTTPHeaders {
    /// The token of `Authorization: Bearer <token>`. The scheme is case-insensitive
    /// (RFC 9110 §11.1); two Authorization headers are no token at all.
    var bearerToken: String? {
        let values = self["authorization"]
        guard values.count == 1, let value = values.first, let space = value.firstIndex(of: " ") else { return nil }
        guard value[..<space].lowercased() == "bearer" else { return nil }
        let token = value[space...].drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()
        return token.isEmpty ? nil : String(token)
    }
}
