import ArgumentParser
import Foundation
import HawkerAuth
import HawkerServer
import Logging
import ServiceLifecycle
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (embedded defaults: no external services).")

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "TCP port.") var port: Int?

    @Flag(help: "Create a `demo` stream and publish plausible events every few seconds.")
    var demo = false

    @Flag(help: "Serve /echo for the Autobahn|Testsuite on the same WebSocket stack.")
    var conformanceEcho = false

    func run() async throws {
        var extra: [String: String] = [:]
        if let host { extra["host"] = host }
        if let port { extra["port"] = "\(port)" }
        if conformanceEcho { extra["conformance_echo"] = "true" }
        var configuration = try options.load(extra: extra)

        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let json = configuration.logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(logLevel: level, label: label) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "hawker")

        if configuration.jwtSecret == nil && configuration.jwksPath == nil {
            let (secret, created) = try DevelopmentSecret.loadOrCreate(for: configuration)
            configuration.jwtSecret = secret
            logger.warning(
                "no jwt.secret or jwt.jwks configured: using a development secret",
                metadata: ["file": "\(DevelopmentSecret.path(in: configuration))", "created": "\(created)"]
            )
        }
        let jwks = try configuration.jwksPath.map { try String(contentsOfFile: $0, encoding: .utf8) }
        let keys = try await TokenVerifier.makeKeys(hmacSecret: configuration.jwtSecret, jwksJSON: jwks)
        let verifier = TokenVerifier(keys: keys, leeway: TimeInterval(configuration.jwtLeewaySeconds), issuer: configuration.jwtIssuer)

        let gateway = try Gateway(configuration: configuration, verifier: verifier, logger: logger)
        // The trace exporter first: a ServiceGroup stops its services in reverse order, so
        // it sends the spans of the gateway's last checkouts before it stops.
        var services: [any Service] = (gateway.tracingService.map { [$0] } ?? []) + [gateway]
        if demo {
            services.append(
                DemoPublisher(streams: gateway.streams, logger: logger) {
                    // After the restore: a restarted demo continues its kept stream.
                    while gateway.localAddress == nil { try await Task.sleep(for: .milliseconds(20)) }
                })
            services.append(DemoLinks(gateway: gateway, configuration: configuration, secret: configuration.jwtSecret, logger: logger))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
