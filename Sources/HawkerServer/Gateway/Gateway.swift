import Foundation
import HawkerAuth
import HawkerCluster
import HawkerHub
import HawkerOrders
import HawkerProtocol
import HawkerRedis
import HawkerState
import HawkerWeb
import HawkerWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import OTel
import Prometheus
import ServiceLifecycle
import Tracing

/// The gateway as a service: binds, serves until graceful shutdown, then drains
/// (readiness fails, no new connections, every WebSocket closed with 1001, pending
/// writes finished) before it returns.
public final class Gateway: Service, Sendable {
    public let configuration: GatewayConfiguration
    /// The streams: the one seam the sessions, the HTTP API and the orders use.
    public let streams: any StreamEngine
    public let registry: PrometheusCollectorRegistry
    /// The OpenTelemetry exporter when `tracing.otlp_endpoint` is set: run it beside the
    /// gateway and stop it after (a ServiceGroup lists it first), so that the last spans go.
    public let tracingService: (any Service)?
    private let group: MultiThreadedEventLoopGroup
    private let ownsGroup: Bool
    private let services: GatewayServices
    private let tls: NIOSSLContext?
    private let lifecycle = NIOLockedValueBox(Lifecycle.idle)
    private let orders: OrderDesk
    private let affiliates: AffiliateDesk
    private let merchants: MerchantDesk
    private let quotas: UserQuotas
    private let logger: Logger
    /// The single-node engine, for restoring and flushing its streams.
    private let hub: Hub
    private let journal: StateJournal?
    /// Cluster mode: the engine and its Redis connections.
    private let cluster: (engine: ClusterEngine, redis: RedisClient)?

    /// Where the gateway is in its life; what it runs while it runs.
    private enum Lifecycle {
        case idle
        case starting
        case running(Running)
        case stopping
        case stopped
    }

    private struct Running {
        var server: SocketAcceptor
        /// The `metrics.port` listener, when configured.
        var metrics: (any Channel)?
        /// Forgets quiet users' quota rows once a minute.
        var quotaSweep: RepeatedTask
        /// The order relay and the backends' services.
        var orders: Task<Void, Never>
        /// A shared store's codes, read every `affiliates.refresh_ms`.
        var affiliates: Task<Void, Never>
        /// Merchants registered at run time: other nodes' changes, and backends' pools.
        var merchants: Task<Void, Never>
        /// Deletes archived streams and settled orders past their retention.
        var retention: Task<Void, Never>
        /// Cluster mode: the Redis connections, the engine's leases and bus, its metrics.
        var cluster: [Task<Void, Never>] = []
    }

    public struct AlreadyStarted: Error {}

    /// - Parameters:
    ///   - verifier: verifies tokens; nil refuses every token (anonymous viewers only).
    ///   - group: event loops to serve on; by default the gateway makes and owns one.
    ///   - tracer: traces checkouts with this tracer instead of the one `tracing.*` makes.
    public init(
        configuration: GatewayConfiguration,
        verifier: TokenVerifier?,
        logger: Logger,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        group: MultiThreadedEventLoopGroup? = nil,
        tracer: (any Tracer)? = nil
    ) throws {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        var tracer = tracer
        if tracer == nil, let url = configuration.tracing.tracesURL {
            let backend = try Self.makeTracingBackend(configuration.tracing, url: url, logger: logger)
            tracer = backend.tracer
            self.tracingService = backend.service
            logger.info("tracing checkouts", metadata: ["otlp": "\(url)", "sample_ratio": "\(configuration.tracing.sampleRatio)"])
        } else {
            self.tracingService = nil
        }
        if let group {
            self.group = group
            self.ownsGroup = false
        } else {
            let threads = configuration.eventLoops > 0 ? configuration.eventLoops : System.coreCount
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
            self.ownsGroup = true
        }
        let loops = Array(self.group.makeIterator())
        let metrics = GatewayMetrics(registry: registry, cluster: configuration.clusterRedisURL != nil)
        var hubConfiguration = configuration.hub
        if !configuration.compressionEnabled { hubConfiguration.compressionMinBytes = nil }
        hubConfiguration.merchantsSettingStock = Set(configuration.orders.merchants.filter { $0.value.stock == .merchant }.keys)
        let outboxPath = configuration.outboxPath ?? (configuration.dataDirectory as NSString).appendingPathComponent("orders.sqlite")
        // The rooms credit checkouts from the registered codes, kept beside the outbox.
        let affiliates = try AffiliateDesk(configuration: configuration, outboxPath: outboxPath, logger: logger)
        hubConfiguration.attribution = affiliates.directory
        self.affiliates = affiliates
        // Merchants registered at run time: their terms priced by the rooms, their backends
        // and stock put in force once the orders layer is up.
        let (merchantDirectory, merchantStore) = try MerchantDesk.directory(configuration: configuration, outboxPath: outboxPath, logger: logger)
        hubConfiguration.merchantTerms = merchantDirectory
        let quotas = UserQuotas(limits: configuration.quotas)
        self.quotas = quotas
        let journal: StateJournal?
        let streams: Hub
        if let url = configuration.clusterRedisURL {
            var redisConfiguration = try RedisConfiguration(url: url)
            let node = configuration.clusterNodeID ?? ClusterConfiguration.generatedNode()
            redisConfiguration.clientName = "hawker-" + node
            let redis = RedisClient(configuration: redisConfiguration, eventLoopGroup: self.group, logger: logger)
            let engine = ClusterEngine(
                loops: loops, hubConfiguration: hubConfiguration, observer: metrics, ownership: quotas, redis: redis,
                configuration: ClusterConfiguration(node: node, prefix: configuration.clusterKeyPrefix, leaseMilliseconds: configuration.clusterLeaseMilliseconds),
                logger: logger)
            engine.attach(to: redis)
            self.cluster = (engine, redis)
            journal = engine.journal
            streams = engine.hub
        } else {
            self.cluster = nil
            switch configuration.stateStore {
            case .sqlite:
                try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
                let statePath = configuration.statePath ?? (configuration.dataDirectory as NSString).appendingPathComponent("state.sqlite")
                journal = StateJournal(store: try SQLiteStateStore(path: statePath)) { error in
                    logger.error("the state store failed; retrying", metadata: ["error": "\(error)"])
                }
            case .memory:
                journal = nil
            }
            streams = Hub(loops: loops, configuration: hubConfiguration, observer: metrics, ownership: quotas, journal: journal)
        }
        self.journal = journal
        let engine: any StreamEngine = cluster?.engine ?? streams
        self.streams = engine
        self.hub = streams
        let orders = try OrderDesk(
            configuration: configuration.orders, outboxPath: outboxPath, streams: engine, inventory: streams.inventory, cluster: cluster?.engine,
            merchants: merchantDirectory, metrics: metrics, tracing: OrderTracing(tracer: tracer), logger: logger)
        self.orders = orders
        let merchants = MerchantDesk(
            directory: merchantDirectory, storeService: merchantStore, refresh: .milliseconds(configuration.affiliates.refreshMilliseconds), orders: orders,
            inventory: streams.inventory, logger: logger)
        self.merchants = merchants
        self.services = GatewayServices(
            configuration: configuration,
            streams: engine,
            cluster: cluster?.engine,
            verifier: verifier,
            metrics: metrics,
            connections: ConnectionRegistry(limit: configuration.maxConnections, pendingPerAddress: configuration.maxPendingPerAddress),
            quotas: quotas,
            deflaters: PerLoop(loops: loops) { _ in MessageDeflater(level: configuration.compressionLevel) },
            clocks: PerLoop(loops: loops) { SessionClocks(eventLoop: $0) },
            orders: orders,
            inventory: InventoryDesk(ledger: streams.inventory),
            affiliates: affiliates,
            merchants: merchants,
            webFiles: StaticFiles(directory: WebAssets.directory),
            logger: logger
        )
        if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsPrivateKeyPath {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            var tlsConfiguration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            // NIOSSL's server defaults accept TLS 1.0 and suites without forward secrecy.
            tlsConfiguration.minimumTLSVersion = configuration.tlsMinimumVersion.nioVersion
            tlsConfiguration.cipherSuites = configuration.tlsCipherSuites
            self.tls = try NIOSSLContext(configuration: tlsConfiguration)
        } else {
            self.tls = nil
        }
    }

    /// OpenTelemetry's tracer and exporter for checkout traces: OTLP/HTTP with protobuf,
    /// W3C trace context, root checkouts sampled at `sampleRatio`. The `OTEL_*`
    /// environment variables apply on top.
    private static func makeTracingBackend(
        _ tracing: TracingConfiguration, url: String, logger: Logger
    ) throws -> (tracer: any Tracer, service: any Service) {
        var otel = OTel.Configuration.default
        otel.serviceName = tracing.serviceName
        otel.diagnosticLogger = .custom(logger)
        otel.logs.enabled = false
        otel.metrics.enabled = false
        otel.traces.enabled = true
        otel.traces.exporter = .otlp
        otel.traces.otlpExporter.protocol = .httpProtobuf
        otel.traces.otlpExporter.endpoint = url
        otel.traces.sampler = .parentBasedTraceIDRatio(ratio: tracing.sampleRatio) ?? .parentBasedAlwaysOn
        otel.propagators = [.traceContext]
        let backend = try OTel.makeTracingBackend(configuration: otel)
        return (backend.factory, backend.service)
    }

    /// Binds the listening socket and returns the bound address (port 0 picks one).
    @discardableResult
    public func start() async throws -> SocketAddress {
        try lifecycle.withLockedValue { state in
            guard case .idle = state else { throw AlreadyStarted() }
            state = .starting
        }
        do {
            return try await bindAndRun()
        } catch {
            // Back to idle, unless a shutdown came meanwhile.
            lifecycle.withLockedValue { state in
                if case .starting = state { state = .idle }
            }
            throw error
        }
    }

    private func bindAndRun() async throws -> SocketAddress {
        // Every kept stream is back before the first connection; in a cluster, streams are
        // taken from Redis as they are needed.
        if journal != nil, cluster == nil {
            let started = ContinuousClock.now
            let restored = try await hub.restore()
            let reconciled = try await orders.reconcile(hub.inventory)
            let recounted = try await orders.restoreCheckouts(into: hub)
            logger.info(
                "streams restored",
                metadata: [
                    "streams": "\(restored.streams)", "stock holds settled from the outbox": "\(reconciled)",
                    "checkouts squared with the rooms": "\(recounted)", "took": "\(ContinuousClock.now - started)",
                ])
            if restored.eventsNotReplayed > 0 {
                logger.warning(
                    "stored events the restored rooms refused to replay (a room limit lowered since they were published?); those rooms are as last saved, moved on by the events that replayed",
                    metadata: ["events": "\(restored.eventsNotReplayed)"])
            }
        }
        // The codes checkouts credit and the merchants' terms, before the first checkout can come.
        try await affiliates.load()
        try await merchants.load()
        let initializer = GatewayChannelInitializer(services: services, tls: tls)
        let water = configuration.outboundHighWaterBytes
        let listener = try SocketAcceptor(
            host: configuration.host,
            port: configuration.port,
            options: .init(
                sendBufferBytes: configuration.socketSendBufferBytes,
                writeBufferWaterMark: .init(low: water / 2, high: water),
                readBufferBytes: configuration.readBufferBytes
            ),
            logger: logger
        )
        listener.start(group: group) { channel, socket in initializer.initialize(channel, socket: socket) }
        var metricsChannel: (any Channel)?
        if configuration.metricsPort > 0 {
            do {
                metricsChannel = try await bindMetricsListener()
            } catch {
                await listener.close()
                throw error
            }
            logger.info("metrics listening", metadata: ["address": "http://\(configuration.metricsHost):\(metricsChannel?.localAddress?.port ?? 0)/metrics"])
        }
        let quotas = self.quotas
        let orders = self.orders
        let affiliates = self.affiliates
        let merchants = self.merchants
        let group = self.group
        let shutDownMeanwhile = lifecycle.withLockedValue { state -> Bool in
            guard case .starting = state else { return true }
            state = .running(
                Running(
                    server: listener,
                    metrics: metricsChannel,
                    quotaSweep: group.next().scheduleRepeatedTask(initialDelay: .minutes(1), delay: .minutes(1)) { _ in quotas.sweep() },
                    orders: Task { await orders.run() },
                    affiliates: Task { await affiliates.run() },
                    merchants: Task { await merchants.run() },
                    retention: Task { await self.sweepRetention() },
                    cluster: startCluster()
                ))
            return false
        }
        if shutDownMeanwhile {
            // A shutdown while binding: it found nothing to close, so close it here.
            await listener.close()
            try? await metricsChannel?.close()
            throw CancellationError()
        }
        let address = listener.localAddress
        logger.info(
            "hawker listening",
            metadata: [
                "address": "\(configuration.tlsEnabled ? "wss" : "ws")://\(configuration.host):\(address.port ?? 0)/ws",
                "event_loops": "\(Array(group.makeIterator()).count)",
            ]
        )
        return address
    }

    /// Cluster mode: the Redis connections (kept up, reconnected), the engine (leases,
    /// requests from other nodes), and its figures in the metrics every second.
    private func startCluster() -> [Task<Void, Never>] {
        guard let cluster else { return [] }
        let metrics = services.metrics
        return [
            Task { try? await cluster.redis.run() },
            Task { await cluster.engine.run() },
            Task {
                var reported = ClusterStatistics()
                while !Task.isCancelled {
                    let now = cluster.engine.statistics
                    metrics.cluster?.report(now, since: reported)
                    reported = now
                    try? await Task.sleep(for: .seconds(1))
                }
            },
        ]
    }

    public var localAddress: SocketAddress? {
        running?.server.localAddress
    }

    /// The address of the `metrics.port` listener, when there is one.
    public var metricsAddress: SocketAddress? {
        running?.metrics?.localAddress
    }

    private var running: Running? {
        lifecycle.withLockedValue { state in
            guard case .running(let running) = state else { return nil }
            return running
        }
    }

    /// `GET /metrics` without a token, on its own (private) address, with the same
    /// per-connection bounds as the main listener.
    private func bindMetricsListener() async throws -> any Channel {
        let services = self.services
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    let configuration = services.configuration
                    try pipeline.addHandler(OutboundBudgetHandler(limit: configuration.outboundBudgetBytes, grace: configuration.webSocket.closeTimeout))
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(HTTPRequestTimeoutHandler(timeout: configuration.httpRequestTimeout) {})
                    try pipeline.addHandler(NIOHTTPServerRequestAggregator(maxContentLength: 1_024))
                    try pipeline.addHandler(MetricsEndpointHandler(metrics: services.metrics))
                }
            }
            .bind(host: configuration.metricsHost, port: configuration.metricsPort)
            .get()
    }

    /// Registers (or replaces) an influencer code as an admin would over HTTP
    /// (`PUT /v1/affiliate-codes/{code}`): for embedding programs and `serve --demo`.
    public func registerAffiliateCode(_ code: String, owner: String, commissionBasisPoints: Int64, hostDefault: Bool = false) async throws {
        let registration = AffiliateCodeRegistration(owner: owner, commissionBasisPoints: commissionBasisPoints, hostDefault: hostDefault)
        if case .failure(let refusal) = try await affiliates.directory.register(code, registration, by: .admin, now: streams.now) {
            throw ConfigurationError(description: "affiliate code '\(code)' was not registered: \(refusal)")
        }
    }

    /// Registers (or replaces) a merchant as an admin would over HTTP (`PUT
    /// /v1/merchants/{id}` with `body`, a JSON object): for embedding programs and
    /// `serve --demo`.
    public func registerMerchant(_ id: String, body: String) async throws {
        guard let fields = try? JSONParser.parse(ByteBuffer(string: body)).objectValue else {
            throw ConfigurationError(description: "merchant '\(id)': the body is not a JSON object")
        }
        let response = await merchants.register(id, body: fields, now: streams.now)
        guard response.status == .ok || response.status == .created else {
            throw ConfigurationError(description: "merchant '\(id)' was not registered: \(response.status) \(String(buffer: response.body))")
        }
    }

    public var connectionCount: Int { services.connections.count }

    /// The metrics in Prometheus text format, as `/metrics` serves them.
    public func renderMetrics() -> String {
        registry.emitToString()
    }

    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Every `state.retention_sweep_ms`: archived streams past `state.archive_retention_ms`
    /// and settled orders past `orders.retention_ms` leave the disk.
    private func sweepRetention() async {
        let interval = Duration.nanoseconds(configuration.retentionSweepInterval.nanoseconds)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { return }
            do {
                if let retention = configuration.archiveRetentionMilliseconds {
                    let archived = try await hub.pruneArchive(before: hub.now - retention)
                    if archived > 0 { logger.info("archived streams deleted", metadata: ["streams": "\(archived)"]) }
                }
                let pruned = try await orders.prune(retentionMilliseconds: configuration.orders.retentionMilliseconds)
                if pruned.checkouts + pruned.notices > 0 {
                    logger.info("settled orders deleted", metadata: ["checkouts": "\(pruned.checkouts)", "notices": "\(pruned.notices)"])
                }
            } catch {
                logger.error("retention sweep failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Writes the influencers' funnel counts so far now, not at the next second (for tests
    /// and tools that read them at once).
    public func flushFunnel() async {
        await orders.funnel.flush()
    }

    /// Drains and stops: safe to call once the gateway has started.
    public func shutdown() async {
        logger.info("draining", metadata: ["connections": "\(services.connections.count)"])
        // Viewers are told to go (1001) at once; with a grace the listener stays a while
        // to answer health checks with 503 and upgrades with `draining`, for the load
        // balancer, and then closes what connected meanwhile too.
        let grace = configuration.drainGraceMilliseconds
        services.connections.startDraining(admittingMeanwhile: grace > 0)
        if grace > 0 {
            try? await Task.sleep(for: .milliseconds(grace))
            services.connections.startDraining()
        }
        let running = lifecycle.withLockedValue { state -> Running? in
            defer { state = .stopping }
            guard case .running(let running) = state else { return nil }
            return running
        }
        await running?.server.close()
        running?.quotaSweep.cancel()
        running?.retention.cancel()
        try? await running?.metrics?.close()
        let deadline = NIODeadline.now() + configuration.drainTimeout
        while services.connections.count > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // The connections are gone: their last funnel counts are written while the outbox
        // (a shared one's pool) still runs.
        await self.orders.funnel.flush()
        // Deliveries still out stay pending in the outbox and go again after a restart.
        if let orders = running?.orders {
            orders.cancel()
            await orders.value
        }
        if let merchants = running?.merchants {
            merchants.cancel()
            await merchants.value
        }
        if let affiliates = running?.affiliates {
            affiliates.cancel()
            await affiliates.value
        }
        // Every room as it is now, and every event, in the store before the loops stop; a
        // cluster node then gives its streams' leases up for the other nodes to take.
        if let cluster {
            await cluster.engine.leave()
            for task in running?.cluster ?? [] { task.cancel() }
            for task in running?.cluster ?? [] { await task.value }
        } else if let journal {
            await hub.saveAndFlush()
            try? await journal.store.close()
        }
        if ownsGroup {
            try? await group.shutdownGracefully()
        }
        lifecycle.withLockedValue { $0 = .stopped }
        logger.info("stopped")
    }
}
