import Foundation
import Histogram

/// The outcome of one scenario run, in one shape for every scenario: what `--json` writes,
/// what `compare` and `report` read, and what the benchmark suite turns into BENCHMARKS.md.
struct LoadResult: Codable, Sendable {
    /// Whether a larger value of a figure is an improvement (throughput) or a regression
    /// (latency, cost); `compare` and the report use it to say "better" or "worse".
    enum Direction: String, Codable, Sendable {
        case higherIsBetter = "higher"
        case lowerIsBetter = "lower"
        case neutral
    }

    /// One named figure. Names are stable snake_case identifiers (`server_cpu_us_per_delivery`)
    /// so scripts can find them; `label` is for people.
    struct Figure: Codable, Sendable {
        var name: String
        var label: String
        var value: Double
        var unit: String
        var direction: Direction
    }

    /// An HDR histogram's summary plus its distribution in logarithmic buckets, enough
    /// to draw it again.
    struct Latency: Codable, Sendable {
        struct Bucket: Codable, Sendable {
            /// Upper bound of the bucket, microseconds.
            var upToMicros: Double
            var count: UInt64
        }

        /// What was timed ("publish to delivery", "checkout ack", ...).
        var label: String
        var count: UInt64
        var p50Micros: Double
        var p90Micros: Double
        var p99Micros: Double
        var p999Micros: Double
        var maxMicros: Double
        var buckets: [Bucket]

        init(label: String, histogram: Histogram<UInt64>) {
            func micros(_ nanos: UInt64) -> Double { Double(nanos) / 1_000 }
            self.label = label
            count = histogram.totalCount
            p50Micros = micros(histogram.valueAtPercentile(50))
            p90Micros = micros(histogram.valueAtPercentile(90))
            p99Micros = micros(histogram.valueAtPercentile(99))
            p999Micros = micros(histogram.valueAtPercentile(99.9))
            maxMicros = micros(histogram.maxRecorded)
            // Buckets doubling from 10 µs: 22 buckets reach 40 s.
            buckets =
                histogram.totalCount == 0
                ? []
                : histogram.logarithmicBucketValues(valueUnitsInFirstBucket: 10_000, logBase: 2).map {
                    Bucket(upToMicros: micros($0.value), count: $0.countAddedInThisIterationStep)
                }
        }

        var text: String {
            func format(_ micros: Double) -> String {
                micros >= 10_000
                    ? String(format: "%.0f ms", micros / 1_000)
                    : micros >= 1_000 ? String(format: "%.1f ms", micros / 1_000) : String(format: "%.0f µs", micros)
            }
            return "p50 \(format(p50Micros))  p90 \(format(p90Micros))  p99 \(format(p99Micros))  p99.9 \(format(p999Micros))  max \(format(maxMicros))"
        }
    }

    var scenario: String
    /// ISO 8601, UTC.
    var startedAt: String
    var machine: String
    /// The run's settings, in the order they were given (viewers, streams, rate, ...).
    var parameters: [Figure]
    var figures: [Figure]
    var latency: Latency?
    /// Why the run failed (loss, reordering, oversell, an unanswered checkout...); empty
    /// when it passed.
    var failures: [String]

    init(scenario: String) {
        self.scenario = scenario
        startedAt = ISO8601DateFormatter().string(from: Date())
        machine = Self.machineDescription
        parameters = []
        figures = []
        latency = nil
        failures = []
    }

    var passed: Bool { failures.isEmpty }

    mutating func parameter(_ name: String, _ label: String, _ value: Double, unit: String = "") {
        parameters.append(Figure(name: name, label: label, value: value, unit: unit, direction: .neutral))
    }

    mutating func figure(_ name: String, _ label: String, _ value: Double?, unit: String, _ direction: Direction) {
        guard let value, value.isFinite else { return }
        figures.append(Figure(name: name, label: label, value: value, unit: unit, direction: direction))
    }

    func figure(named name: String) -> Figure? {
        figures.first { $0.name == name } ?? parameters.first { $0.name == name }
    }

    /// The human summary printed at the end of a run.
    var table: String {
        var lines = ["\(scenario)  " + parameters.map { "\($0.label) \(Self.format($0.value))\($0.unit.isEmpty ? "" : " \($0.unit)")" }.joined(separator: ", ")]
        let width = figures.map(\.label.count).max() ?? 0
        for figure in figures {
            lines.append("  " + figure.label.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + Self.format(figure.value) + (figure.unit.isEmpty ? "" : " \(figure.unit)"))
        }
        if let latency {
            lines.append("  \(latency.label) (\(latency.count)): \(latency.text)")
        }
        lines.append(passed ? "  PASSED" : "  FAILED: " + failures.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded() || abs(value) >= 1_000, abs(value) < 1e15 {
            return Int64(value.rounded()).formatted(.number.grouping(.automatic))
        }
        if abs(value) >= 100 { return String(format: "%.0f", value) }
        if abs(value) >= 10 { return String(format: "%.1f", value) }
        return String(format: "%.3g", value)
    }

    static let machineDescription: String = {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
    }()

    /// Writes the result as pretty, sorted JSON when `path` is set, and an HTML report
    /// beside it (same name, `.html`).
    func write(json path: String?) throws {
        guard let path else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
        let html = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("html")
        try Data(HTMLReport(results: [self]).render().utf8).write(to: html)
    }

    static func read(_ path: String) throws -> LoadResult {
        try JSONDecoder().decode(LoadResult.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
