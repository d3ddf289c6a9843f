import Foundation
import Prometheus
import Testing

@testable import HawkerServer

/// deploy/grafana/hawker-dashboard.json queries only what the gateway exports: every
/// metric in its expressions, and every label it groups or filters by.
@Suite struct DashboardTests {
    /// The gateway's metrics as Prometheus scrapes them (a cluster node's: all of them):
    /// name → label names.
    private static func exported(cluster: Bool = true) -> [String: Set<String>] {
        let registry = PrometheusCollectorRegistry()
        _ = GatewayMetrics(registry: registry, cluster: cluster)
        var metrics: [String: Set<String>] = [:]
        for line in registry.emitToString().split(separator: "\n") where !line.hasPrefix("#") {
            let name = String(line.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
            var labels = metrics[name, default: []]
            if let open = line.firstIndex(of: "{"), let close = line.firstIndex(of: "}") {
                for pair in line[line.index(after: open)..<close].split(separator: ",") {
                    labels.insert(String(pair.prefix { $0 != "=" }))
                }
            }
            metrics[name] = labels
        }
        return metrics
    }

    private static func expressions() throws -> [String] {
        let data = Data(RepositoryFile.text("deploy/grafana/hawker-dashboard.json").utf8)
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        return panels.flatMap { panel in ((panel["targets"] as? [[String: Any]]) ?? []).compactMap { $0["expr"] as? String } }
    }

    @Test func everyQueriedMetricAndLabelIsExported() throws {
        let exported = Self.exported()
        #expect(exported.count > 20, "the registry emitted \(exported.count) metrics")
        let expressions = try Self.expressions()
        #expect(expressions.count >= 15)
        let metricPattern = try Regex(#"hawker_[a-z_]+"#)
        let groupingPattern = try Regex(#"(by|without) ?\(([a-z_, ]+)\)"#)
        let matcherPattern = try Regex(#"([a-z_]+) ?(=~|!~|!=|=) ?""#)
        var queried: Set<String> = []
        for expression in expressions {
            let metrics = expression.matches(of: metricPattern).map { String(expression[$0.range]) }
            #expect(!metrics.isEmpty, "no hawker metric in \(expression)")
            var labels: Set<String> = []
            for match in expression.matches(of: groupingPattern) {
                let text = String(expression[match.range])
                let list = text[text.index(after: text.firstIndex(of: "(")!)...].dropLast()
                labels.formUnion(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            }
            for match in expression.matches(of: matcherPattern) {
                labels.insert(String(expression[match.range].prefix { $0.isLetter || $0 == "_" }))
            }
            // Added by Prometheus (instance, job) or by histograms (le).
            labels.subtract(["instance", "job", "le"])
            for metric in metrics {
                queried.insert(metric)
                #expect(exported[metric] != nil, "the dashboard queries \(metric), which the gateway does not export")
                // A label grouped by must exist on some metric of the expression.
                for label in labels where !metrics.contains(where: { exported[$0]?.contains(label) == true }) {
                    Issue.record("\(expression) uses the label \(label), which none of its metrics has")
                }
            }
        }
        // And every exported hawker metric has a panel.
        let families = Set(exported.keys.map { $0.replacing(try! Regex("_(bucket|sum|count)$"), with: "") })
        for family in families where family.hasPrefix("hawker_") {
            #expect(queried.contains { $0.hasPrefix(family) }, "no panel shows \(family)")
        }
    }

    /// A single gateway exports no `hawker_cluster_*`: its Redis gauge would read as an
    /// outage.
    @Test func aSingleGatewayExportsNoClusterMetrics() {
        let single = Self.exported(cluster: false)
        #expect(single["hawker_connections"] != nil)
        #expect(!single.keys.contains { $0.hasPrefix("hawker_cluster_") }, "\(single.keys.filter { $0.hasPrefix("hawker_cluster_") })")
        #expect(Self.exported()["hawker_cluster_redis_up"] != nil)
    }
}
