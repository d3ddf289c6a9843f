import ArgumentParser
import Foundation
import HawkerServer

/// Where configuration comes from: `--config FILE`, `HAWKER_*` environment variables and
/// `--set key=value` (highest precedence), plus the common flags.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "A JSON config file: {\"key\": value} with the keys `hawker config` lists.")
    var config: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Set any configuration key.", valueName: "key=value"))
    var settings: [String] = []

    @Option(help: "Directory for the gateway's files.")
    var dataDir: String?

    func load(extra: [String: String] = [:]) throws -> GatewayConfiguration {
        var overrides: [String: String] = [:]
        if let dataDir { overrides["data_dir"] = dataDir }
        for setting in settings {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--set takes key=value, got '\(setting)'") }
            overrides[parts[0]] = parts[1]
        }
        overrides.merge(extra) { _, flag in flag }
        let contents: String?
        if let config {
            do {
                contents = try String(contentsOfFile: config, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read the config file \(config): \(error.localizedDescription)")
            }
        } else {
            contents = nil
        }
        do {
            return try GatewayConfiguration.load(fileContents: contents, environment: ProcessInfo.processInfo.environment, overrides: overrides)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
