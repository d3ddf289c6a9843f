import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Plain HTTP requests against a test gateway.
enum HTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String

        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }

        var errorCode: String? {
            (json?["error"] as? [String: Any])?["code"] as? String
        }
    }

    static func request(
        _ method: String,
        port: Int,
        path: String,
        headers: [String: String] = [:],
        body: String? = nil
    ) async throws -> Response {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body { request.httpBody = Data(body.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            fields[String(describing: name).lowercased()] = String(describing: value)
        }
        return Response(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
    }
}
