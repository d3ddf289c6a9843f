import HawkerCluster
import Metrics
import Prometheus

/// A cluster node's figures: whether Redis is reachable, the streams it runs and mirrors,
/// and what it did (requests forwarded, takeovers, leases lost, mirrors reloaded).
struct ClusterMetrics: Sendable {
    let redisUp: Metrics.Gauge
    let owned: Metrics.Gauge
    let mirrored: Metrics.Gauge
    let forwarded: Metrics.Counter
    let takeovers: Metrics.Counter
    let leasesLost: Metrics.Counter
    let reloads: Metrics.Counter

    init(factory: PrometheusMetricsFactory) {
        redisUp = Metrics.Gauge(label: "hawker_cluster_redis_up", factory: factory)
        owned = Metrics.Gauge(label: "hawker_cluster_streams", dimensions: [("role", "owned")], factory: factory)
        mirrored = Metrics.Gauge(label: "hawker_cluster_streams", dimensions: [("role", "mirrored")], factory: factory)
        forwarded = Metrics.Counter(label: "hawker_cluster_forwarded_total", factory: factory)
        takeovers = Metrics.Counter(label: "hawker_cluster_takeovers_total", factory: factory)
        leasesLost = Metrics.Counter(label: "hawker_cluster_leases_lost_total", factory: factory)
        reloads = Metrics.Counter(label: "hawker_cluster_mirror_reloads_total", factory: factory)
    }

    /// Sets the gauges to `now` and moves the counters on by what happened since `before`.
    func report(_ now: ClusterStatistics, since before: ClusterStatistics) {
        redisUp.record(now.redisAvailable ? 1 : 0)
        owned.record(now.owned)
        mirrored.record(now.mirrored)
        forwarded.increment(by: max(0, now.forwarded - before.forwarded))
        takeovers.increment(by: max(0, now.takeovers - before.takeovers))
        leasesLost.increment(by: max(0, now.leasesLost - before.leasesLost))
        reloads.increment(by: max(0, now.reloads - before.reloads))
    }
}
