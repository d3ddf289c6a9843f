import ArgumentParser
import Foundation

/// Puts two runs side by side. Each figure gets its ratio candidate/baseline and is judged
/// by the figure's direction, so a regression reads "worse" whatever the unit.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two result files: each figure's ratio b/a, better or worse."
    )

    @Argument(help: "The baseline result file (a), as written by --json.")
    var baseline: String

    @Argument(help: "The candidate result file (b), judged against the baseline.")
    var candidate: String

    /// Ratios within ±3% of 1 are "same". A change that small is not worth a verdict.
    static let tolerance = 0.03

    /// One line of the comparison. `a` or `b` is nil when only the other file has the figure.
    struct Row: Equatable, Sendable {
        enum Verdict: String, Equatable, Sendable {
            case better
            case worse
            case same
            /// The figure has no direction (a count, a setting), so there is nothing to judge.
            case neutral = "—"
            case onlyInA = "only in a"
            case onlyInB = "only in b"
        }

        var name: String
        var label: String
        var unit: String
        var direction: LoadResult.Direction
        var a: Double?
        var b: Double?
        var verdict: Verdict

        /// b/a; nil when a side is missing or a is zero.
        var ratio: Double? {
            guard let a, let b, a != 0 else { return nil }
            let ratio = b / a
            return ratio.isFinite ? ratio : nil
        }

        /// "×1.23"; "n/a" when both values exist but a is zero; empty when a side is missing.
        var ratioText: String {
            guard a != nil, b != nil else { return "" }
            guard let ratio else { return "n/a" }
            return "×" + String(format: "%.2f", ratio)
        }
    }

    func run() throws {
        let a = try readResult(at: baseline)
        let b = try readResult(at: candidate)
        print(Self.header("a", a, path: baseline))
        print(Self.header("b", b, path: candidate))
        if a.scenario != b.scenario {
            print("warning: different scenarios: a is \(a.scenario), b is \(b.scenario)")
        }
        let differences = Self.parameterDifferences(a, b)
        if !differences.isEmpty {
            print("warning: parameters differ: " + differences.joined(separator: "; "))
        }
        if (a.latency == nil) != (b.latency == nil) {
            print("note: only \(a.latency == nil ? "b" : "a") has latency, so there are no latency rows")
        }
        print()
        let rows = Self.rows(a, b)
        print(rows.isEmpty ? "no figures to compare" : Self.table(rows))
    }

    // MARK: - The comparison, without I/O

    /// Every figure of a (in a's order), then those only in b, matched by `name`; then
    /// p50/p99/p99.9/max latency in milliseconds when both runs have latency.
    static func rows(_ a: LoadResult, _ b: LoadResult) -> [Row] {
        var rows: [Row] = []
        for figure in a.figures {
            let other = b.figures.first { $0.name == figure.name }
            rows.append(
                Row(
                    name: figure.name, label: figure.label, unit: figure.unit, direction: figure.direction,
                    a: figure.value, b: other?.value,
                    verdict: other.map { Self.verdict(a: figure.value, b: $0.value, direction: figure.direction) } ?? .onlyInA
                ))
        }
        for figure in b.figures where !a.figures.contains(where: { $0.name == figure.name }) {
            rows.append(
                Row(
                    name: figure.name, label: figure.label, unit: figure.unit, direction: figure.direction,
                    a: nil, b: figure.value, verdict: .onlyInB
                ))
        }
        if let latencyA = a.latency, let latencyB = b.latency {
            let percentiles: [(name: String, label: String, microsA: Double, microsB: Double)] = [
                ("p50", "p50", latencyA.p50Micros, latencyB.p50Micros),
                ("p99", "p99", latencyA.p99Micros, latencyB.p99Micros),
                ("p999", "p99.9", latencyA.p999Micros, latencyB.p999Micros),
                ("max", "max", latencyA.maxMicros, latencyB.maxMicros),
            ]
            for percentile in percentiles {
                let valueA = percentile.microsA / 1_000
                let valueB = percentile.microsB / 1_000
                rows.append(
                    Row(
                        name: "latency_\(percentile.name)_ms", label: "\(latencyA.label) \(percentile.label)", unit: "ms",
                        direction: .lowerIsBetter, a: valueA, b: valueB,
                        verdict: Self.verdict(a: valueA, b: valueB, direction: .lowerIsBetter)
                    ))
            }
        }
        return rows
    }

    /// Whether b is better than a for a figure going in `direction`, allowing `tolerance`.
    static func verdict(a: Double, b: Double, direction: LoadResult.Direction) -> Row.Verdict {
        guard direction != .neutral else { return .neutral }
        let isHigher: Bool
        let isLower: Bool
        if a > 0, b >= 0 {
            isHigher = b / a > 1 + tolerance
            isLower = b / a < 1 - tolerance
        } else {
            // A zero or negative baseline has no meaningful ratio, so use the sign of the difference.
            isHigher = b > a
            isLower = b < a
        }
        guard isHigher || isLower else { return .same }
        return isHigher == (direction == .higherIsBetter) ? .better : .worse
    }

    /// Settings that differ between the runs, such as "Viewers 1,000 → 2,000" or "Rate only in b".
    /// Figures from runs with different settings are not like for like.
    static func parameterDifferences(_ a: LoadResult, _ b: LoadResult) -> [String] {
        var differences: [String] = []
        for parameter in a.parameters {
            guard let other = b.parameters.first(where: { $0.name == parameter.name }) else {
                differences.append("\(parameter.label) only in a")
                continue
            }
            if other.value != parameter.value {
                differences.append(
                    "\(parameter.label) \(valueText(parameter.value, unit: parameter.unit)) → \(valueText(other.value, unit: other.unit))"
                )
            }
        }
        for parameter in b.parameters where !a.parameters.contains(where: { $0.name == parameter.name }) {
            differences.append("\(parameter.label) only in b")
        }
        return differences
    }

    /// The rows as aligned text. Labels and verdicts are left-aligned and numbers
    /// right-aligned, so digits line up.
    static func table(_ rows: [Row]) -> String {
        let header = ["figure", "a", "b", "b/a", "verdict"]
        let body: [[String]] = rows.map { row in
            [row.label, valueText(row.a, unit: row.unit), valueText(row.b, unit: row.unit), row.ratioText, row.verdict.rawValue]
        }
        let lines = [header] + body
        let widths: [Int] = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        let lastColumn = header.count - 1
        return lines.map { cells in
            cells.indices.map { (column: Int) -> String in
                // The last column is not padded, which keeps trailing spaces off every line.
                if column == lastColumn { return cells[column] }
                return padded(cells[column], to: widths[column], alignRight: column != 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    // MARK: - Text

    private static func header(_ side: String, _ result: LoadResult, path: String) -> String {
        let status = result.passed ? "PASSED" : "FAILED (\(result.failures.joined(separator: "; ")))"
        return "\(side): \(path)  \(result.scenario)  \(result.startedAt)  \(result.machine)  \(status)"
    }

    private static func valueText(_ value: Double?, unit: String) -> String {
        guard let value else { return "" }
        return LoadResult.format(value) + (unit.isEmpty ? "" : " \(unit)")
    }

    private static func padded(_ text: String, to width: Int, alignRight: Bool) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return alignRight ? fill + text : text + fill
    }
}

/// `LoadResult.read`, with the path in the error. Foundation's file and decoding errors
/// don't always name the file, and `compare` and `report` read several.
func readResult(at path: String) throws -> LoadResult {
    do {
        return try LoadResult.read(path)
    } catch {
        throw LoadError("cannot read result file \(path): \(error)")
    }
}
