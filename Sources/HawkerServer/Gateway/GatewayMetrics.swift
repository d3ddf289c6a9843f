import HawkerHub
import Metrics
import Prometheus

/// The gateway's metrics, registered in one Prometheus registry that `/metrics` renders.
struct GatewayMetrics: HubObserver {
    let registry: PrometheusCollectorRegistry
    let connections: Meter
    let subscriptions: Meter
    let eventsPublished: Metrics.Counter
    let deliveries: Metrics.Counter
    let deliveredBytes: Metrics.Counter
    let drops: Metrics.Counter
    let slowConsumerCloses: Metrics.Counter
    let backedUpViewers: Metrics.Counter
    let coalescedFrames: Metrics.Counter
    let rejectedConnections: Metrics.Counter
    /// WebSocket upgrades by the path that answered them: `fast` (`FastUpgradeHandler`)
    /// or `http` (NIO's HTTP pipeline: requests the fast path does not recognise).
    let fastUpgrades: Metrics.Counter
    let httpUpgrades: Metrics.Counter
    let publishToWrite: Metrics.Timer
    let checkoutLatency: Metrics.Timer
    let outboxPending: Metrics.Gauge
    let outboxDeadLetters: Metrics.Gauge
    let outboxCommits: Metrics.Counter
    let outboxWrites: Metrics.Counter
    /// Cluster mode only: a single gateway does not export `hawker_cluster_*` (its
    /// `hawker_cluster_redis_up` would read 0 and look like an outage).
    let cluster: ClusterMetrics?
    private let checkoutResults: [CheckoutResult: Metrics.Counter]
    private let orderOutcomes: [OrderOutcome: Metrics.Counter]

    enum CheckoutResult: String, CaseIterable {
        case accepted, replayed, rejected, unavailable
    }

    enum OrderOutcome: String, CaseIterable {
        case confirmed, rejected, retried
        case deadLettered = "dead_lettered"
    }

    init(registry: PrometheusCollectorRegistry, cluster: Bool = false) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        connections = Meter(label: "hawker_connections", factory: factory)
        subscriptions = Meter(label: "hawker_subscriptions", factory: factory)
        eventsPublished = Metrics.Counter(label: "hawker_events_published_total", factory: factory)
        deliveries = Metrics.Counter(label: "hawker_deliveries_total", factory: factory)
        deliveredBytes = Metrics.Counter(label: "hawker_delivered_bytes_total", factory: factory)
        drops = Metrics.Counter(label: "hawker_dropped_frames_total", factory: factory)
        slowConsumerCloses = Metrics.Counter(label: "hawker_slow_consumer_closes_total", factory: factory)
        backedUpViewers = Metrics.Counter(label: "hawker_backed_up_viewers_total", factory: factory)
        coalescedFrames = Metrics.Counter(label: "hawker_coalesced_frames_total", factory: factory)
        rejectedConnections = Metrics.Counter(label: "hawker_rejected_connections_total", factory: factory)
        fastUpgrades = Metrics.Counter(label: "hawker_websocket_upgrades_total", dimensions: [("path", "fast")], factory: factory)
        httpUpgrades = Metrics.Counter(label: "hawker_websocket_upgrades_total", dimensions: [("path", "http")], factory: factory)
        publishToWrite = Metrics.Timer(label: "hawker_publish_to_write_seconds", factory: factory)
        checkoutLatency = Metrics.Timer(label: "hawker_checkout_seconds", factory: factory)
        outboxPending = Metrics.Gauge(label: "hawker_outbox_pending_deliveries", factory: factory)
        outboxDeadLetters = Metrics.Gauge(label: "hawker_outbox_dead_letters", factory: factory)
        outboxCommits = Metrics.Counter(label: "hawker_outbox_commits_total", factory: factory)
        outboxWrites = Metrics.Counter(label: "hawker_outbox_writes_total", factory: factory)
        self.cluster = cluster ? ClusterMetrics(factory: factory) : nil
        checkoutResults = Dictionary(
            uniqueKeysWithValues: CheckoutResult.allCases.map {
                ($0, Metrics.Counter(label: "hawker_checkouts_total", dimensions: [("result", $0.rawValue)], factory: factory))
            })
        orderOutcomes = Dictionary(
            uniqueKeysWithValues: OrderOutcome.allCases.map {
                ($0, Metrics.Counter(label: "hawker_order_deliveries_total", dimensions: [("outcome", $0.rawValue)], factory: factory))
            })
    }

    func checkouts(_ result: CheckoutResult) {
        checkoutResults[result]?.increment()
    }

    func orders(_ outcome: OrderOutcome) {
        orderOutcomes[outcome]?.increment()
    }

    func published() {
        eventsPublished.increment()
    }

    func delivered(subscribers: Int, bytes: Int, latencyNanoseconds: Int64) {
        deliveries.increment(by: subscribers)
        deliveredBytes.increment(by: subscribers * bytes)
        publishToWrite.recordNanoseconds(latencyNanoseconds)
    }
}
