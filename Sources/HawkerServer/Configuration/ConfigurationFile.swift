import Foundation
import HawkerProtocol

/// Reads a config file: a flat JSON object from key names to strings, numbers,
/// booleans or arrays of strings (for lists).
enum ConfigurationFile {
    static func parse(_ contents: String) throws(ConfigurationError) -> [String: String] {
        guard let object = (try? JSONDecoder().decode(JSONValue.self, from: Data(contents.utf8)))?.objectValue else {
            throw ConfigurationError(description: "the config file must be a JSON object of \"key\": value")
        }
        var values: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case .string(let text): values[key] = text
            case .int(let number): values[key] = "\(number)"
            case .bool(let flag): values[key] = flag ? "true" : "false"
            case .array(let items) where items.allSatisfy({ $0.stringValue != nil }):
                values[key] = items.compactMap(\.stringValue).joined(separator: ",")
            default:
                throw ConfigurationError(description: "config key '\(key)' must be a string, an integer, a boolean or a list of strings")
            }
        }
        return values
    }
}
