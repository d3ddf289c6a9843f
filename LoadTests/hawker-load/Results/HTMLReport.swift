import Foundation

/// One self-contained HTML page for a set of results. It shows each run's settings,
/// figures and latency histogram. When several runs of one scenario differ in viewer
/// count, it also shows how throughput and p99 latency change with viewers.
///
/// Nothing is loaded from elsewhere and nothing runs. There are no scripts, no event
/// handlers and no `style` attributes: only one `<style>` element, and SVG drawn here
/// with presentation attributes. The file can be archived or mailed, and it still looks
/// the same when served under a strict Content-Security-Policy.
struct HTMLReport: Sendable {
    let results: [LoadResult]

    func render() -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title.htmlEscaped)</title>
            <style>
            \(Self.style)
            </style>
            </head>
            <body>
            <header>
            <h1>\(title.htmlEscaped)</h1>
            \(summary)
            </header>

            """
        if results.count > 1 { html += tableOfContents }
        html += scalingSections
        for (index, result) in results.enumerated() {
            html += Self.section(result, anchor: Self.anchor(index))
        }
        html += "</body>\n</html>\n"
        return html
    }

    // MARK: - Page

    private var scenarios: [String] {
        var seen: Set<String> = []
        return results.map(\.scenario).filter { seen.insert($0).inserted }
    }

    private var title: String {
        let scenarios = self.scenarios
        if scenarios.count == 1, let only = scenarios.first { return "Hawker load: \(only)" }
        return "Hawker load report"
    }

    private var summary: String {
        guard !results.isEmpty else { return "<p class=\"meta\">No results.</p>" }
        let failed = results.filter { !$0.passed }.count
        let runs = results.count == 1 ? "1 run" : "\(results.count) runs"
        let outcome = failed == 0 ? "all passed" : "\(results.count - failed) passed, \(failed) failed"
        return "<p class=\"meta\">\(runs), \(outcome)</p>"
    }

    private static func anchor(_ index: Int) -> String { "result-\(index + 1)" }

    private var tableOfContents: String {
        var html = "<nav>\n<ol class=\"toc\">\n"
        for (index, result) in results.enumerated() {
            // A few settings are enough to tell runs of one scenario apart.
            let settings = result.parameters.prefix(3).map { "\($0.label) \(Self.valueText($0.value, unit: $0.unit))" }
            let line = ([result.scenario, result.startedAt] + settings).joined(separator: " · ")
            html += "<li><a href=\"#\(Self.anchor(index))\">\(line.htmlEscaped)</a> \(Self.statusBadge(result))</li>\n"
        }
        html += "</ol>\n</nav>\n"
        return html
    }

    private static func statusBadge(_ result: LoadResult) -> String {
        result.passed
            ? "<span class=\"status passed\">PASSED</span>"
            : "<span class=\"status failed\">FAILED</span>"
    }

    private static func valueText(_ value: Double, unit: String) -> String {
        LoadResult.format(value) + (unit.isEmpty ? "" : " \(unit)")
    }

    // MARK: - One result

    private static func section(_ result: LoadResult, anchor: String) -> String {
        var html = "<section id=\"\(anchor)\">\n"
        html += "<h2>\(result.scenario.htmlEscaped) \(statusBadge(result))</h2>\n"
        html += "<p class=\"meta\">Started \(result.startedAt.htmlEscaped) · \(result.machine.htmlEscaped)</p>\n"
        if !result.failures.isEmpty {
            html += "<ul class=\"failures\">\n"
            for failure in result.failures { html += "<li>\(failure.htmlEscaped)</li>\n" }
            html += "</ul>\n"
        }
        if !result.parameters.isEmpty {
            html += "<h3>Parameters</h3>\n" + figureTable(result.parameters, heading: "Parameter")
        }
        if !result.figures.isEmpty {
            html += "<h3>Figures</h3>\n" + figureTable(result.figures, heading: "Figure")
        }
        if let latency = result.latency { html += latencySection(latency) }
        html += "</section>\n"
        return html
    }

    private static func figureTable(_ figures: [LoadResult.Figure], heading: String) -> String {
        var html = "<table>\n<thead><tr><th>\(heading.htmlEscaped)</th><th class=\"num\">Value</th><th>Unit</th></tr></thead>\n<tbody>\n"
        for figure in figures {
            // The snake_case name is what scripts look for; a tooltip keeps it findable without cluttering the table.
            html +=
                "<tr><td title=\"\(figure.name.htmlEscaped)\">\(figure.label.htmlEscaped)</td>"
                + "<td class=\"num\">\(LoadResult.format(figure.value).htmlEscaped)</td>"
                + "<td>\(figure.unit.htmlEscaped)</td></tr>\n"
        }
        html += "</tbody>\n</table>\n"
        return html
    }

    private static func latencySection(_ latency: LoadResult.Latency) -> String {
        let samples = "\(LoadResult.format(Double(latency.count))) samples"
        var html = "<h3>Latency: \(latency.label.htmlEscaped) <span class=\"meta\">(\(samples.htmlEscaped))</span></h3>\n"
        let marks: [(name: String, micros: Double)] = [
            ("p50", latency.p50Micros), ("p99", latency.p99Micros), ("p99.9", latency.p999Micros), ("max", latency.maxMicros),
        ]
        let percentiles = marks.map { mark in
            "\(mark.name) <strong>\(compactDuration(mark.micros).htmlEscaped)</strong>"
        }.joined(separator: " · ")
        html += "<figure>\n<figcaption class=\"percentiles\">\(percentiles)</figcaption>\n"
        if latency.buckets.isEmpty {
            html += "<p class=\"meta\">No samples.</p>\n"
        } else {
            html += SVGChart.histogram(latency.buckets, label: "Latency histogram: \(latency.label)")
        }
        html += "</figure>\n"
        return html
    }

    // MARK: - Scaling against viewers

    /// A run placed on the viewer axis.
    private struct Run {
        var viewers: Double
        var result: LoadResult
    }

    /// Results grouped by scenario, in the order the scenarios first appear.
    private var resultsByScenario: [(scenario: String, results: [LoadResult])] {
        scenarios.map { scenario in (scenario: scenario, results: results.filter { $0.scenario == scenario }) }
    }

    private var scalingSections: String {
        var html = ""
        for group in resultsByScenario {
            let runs: [Run] = group.results.compactMap { result in
                guard let viewers = result.parameters.first(where: { $0.name == "viewers" }) else { return nil }
                return Run(viewers: viewers.value, result: result)
            }
            // Sorted by viewers; equal counts keep their file order.
            let sortedRuns = runs.enumerated().sorted { lhs, rhs in
                lhs.element.viewers != rhs.element.viewers ? lhs.element.viewers < rhs.element.viewers : lhs.offset < rhs.offset
            }.map { $0.element }
            let viewerCounts = Set(sortedRuns.map(\.viewers))
            guard viewerCounts.count >= 2, let fewest = viewerCounts.min(), let most = viewerCounts.max() else { continue }

            var charts: [String] = []
            if let throughput = Self.throughputFigure(in: group.results) {
                let points: [SVGChart.Point] = sortedRuns.compactMap { run in
                    guard let figure = run.result.figures.first(where: { $0.name == throughput.name }) else { return nil }
                    return SVGChart.Point(x: run.viewers, y: figure.value)
                }
                charts.append(
                    Self.lineFigure(
                        points, caption: "Throughput: \(throughput.label)",
                        yTitle: throughput.unit.isEmpty ? throughput.label : throughput.unit
                    ))
            }
            let latencyPoints: [SVGChart.Point] = sortedRuns.compactMap { run in
                guard let latency = run.result.latency else { return nil }
                return SVGChart.Point(x: run.viewers, y: latency.p99Micros / 1_000)
            }
            let latencyLabel = group.results.lazy.compactMap { $0.latency?.label }.first ?? "latency"
            charts.append(Self.lineFigure(latencyPoints, caption: "p99 latency: \(latencyLabel)", yTitle: "ms"))

            let drawn = charts.filter { !$0.isEmpty }
            guard !drawn.isEmpty else { continue }
            html += "<section class=\"scaling\">\n"
            html += "<h2>\(group.scenario.htmlEscaped) against viewers</h2>\n"
            let span = "\(sortedRuns.count) runs, \(LoadResult.format(fewest)) to \(LoadResult.format(most)) viewers"
            html += "<p class=\"meta\">\(span.htmlEscaped)</p>\n"
            html += "<div class=\"charts\">\n" + drawn.joined() + "</div>\n</section>\n"
        }
        return html
    }

    /// Deliveries per second where the scenario has it; otherwise the first figure that
    /// grows when things go well, which is the scenario's own throughput figure.
    private static func throughputFigure(in results: [LoadResult]) -> LoadResult.Figure? {
        let deliveries = results.lazy.compactMap { result in
            result.figures.first { $0.name == "deliveries_per_second" }
        }.first
        return deliveries
            ?? results.lazy.compactMap { result in
                result.figures.first { $0.direction == .higherIsBetter }
            }.first
    }

    /// A captioned line chart, or nothing when fewer than two viewer counts have a value.
    private static func lineFigure(_ points: [SVGChart.Point], caption: String, yTitle: String) -> String {
        guard Set(points.map(\.x)).count >= 2 else { return "" }
        return "<figure>\n<figcaption>\(caption.htmlEscaped)</figcaption>\n"
            + SVGChart.lineChart(points, xTitle: "viewers", yTitle: yTitle, label: caption)
            + "</figure>\n"
    }

    // MARK: - Style

    private static let style = """
        :root { color-scheme: light; }
        body { max-width: 960px; margin: 2rem auto; padding: 0 1rem; color: #1f2328; background: #fff;
          font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
        h2 { font-size: 1.3rem; margin: 2.5rem 0 .25rem; padding-top: 1.25rem; border-top: 1px solid #d8dee4; }
        h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
        a { color: #0969da; }
        .meta { color: #59636e; font-weight: normal; margin: .25rem 0; }
        .status { display: inline-block; margin-left: .4rem; padding: 0 .45rem; border-radius: 4px;
          font-size: .75rem; font-weight: 600; letter-spacing: .03em; vertical-align: middle; }
        .passed { background: #dafbe1; color: #116329; }
        .failed { background: #ffebe9; color: #a40e26; }
        ul.failures { color: #a40e26; margin: .5rem 0; }
        ol.toc { padding-left: 1.5rem; }
        table { border-collapse: collapse; min-width: 60%; margin: .25rem 0 1rem; }
        th, td { border: 1px solid #d8dee4; padding: .3rem .65rem; text-align: left; vertical-align: top; }
        thead th { background: #f6f8fa; font-weight: 600; }
        .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        figure { margin: .5rem 0 1.25rem; }
        figcaption { margin-bottom: .35rem; font-weight: 600; }
        figcaption.percentiles { font-weight: normal; font-variant-numeric: tabular-nums; }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 0 1.5rem; }
        svg { display: block; width: 100%; height: auto; }
        """
}

// MARK: - SVG

/// Charts drawn in a fixed user space and scaled by the browser through `viewBox`.
/// Colours and fonts are presentation attributes, which a CSP does not treat as inline style.
private enum SVGChart {
    struct Point {
        var x: Double
        var y: Double
    }

    static let ink = "#59636e"
    static let axis = "#8c959f"
    static let grid = "#eaeef2"
    static let accent = "#2f6fd0"
    static let fontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

    /// Bars over log2 latency buckets: x is each bucket's upper bound, y its count.
    static func histogram(_ buckets: [LoadResult.Latency.Bucket], label: String) -> String {
        let width = 720.0, height = 270.0
        let left = 62.0, right = 12.0, top = 16.0, bottom = 72.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let baseline = top + plotHeight
        let maxCount = buckets.map(\.count).max() ?? 0
        let slot = plotWidth / Double(max(buckets.count, 1))

        var svg = svgElement(width: width, height: height, label: label)
        svg += line(x1: left, y1: top, x2: width - right, y2: top, color: grid)
        svg += line(x1: left, y1: top, x2: left, y2: baseline, color: axis)
        svg += line(x1: left, y1: baseline, x2: width - right, y2: baseline, color: axis)
        svg += text(LoadResult.format(Double(maxCount)), x: left - 6, y: top + 4, anchor: "end")
        svg += text("0", x: left - 6, y: baseline + 4, anchor: "end")
        svg += text("count", x: 14, y: top + plotHeight / 2, rotation: -90)
        for (index, bucket) in buckets.enumerated() {
            let x = left + Double(index) * slot
            let bound = "≤" + compactDuration(bucket.upToMicros)
            if bucket.count > 0, maxCount > 0 {
                // A few slow samples beside millions of fast ones would round to nothing,
                // and the tail is what the chart is for, so a non-empty bucket stays visible.
                let barHeight = max(Double(bucket.count) / Double(maxCount) * plotHeight, 1.5)
                let tooltip = "\(bound): \(LoadResult.format(Double(bucket.count)))"
                svg +=
                    "<rect x=\"\(number(x + slot * 0.1))\" y=\"\(number(baseline - barHeight))\""
                    + " width=\"\(number(slot * 0.8))\" height=\"\(number(barHeight))\" fill=\"\(accent)\">"
                    + "<title>\(tooltip.htmlEscaped)</title></rect>\n"
            }
            // Slanted so that 22 labels fit under 22 narrow bars.
            svg += text(bound, x: x + slot / 2 + 3, y: baseline + 12, anchor: "end", rotation: -45)
        }
        svg += "</svg>\n"
        return svg
    }

    /// Marked, labelled points joined in x order; y starts at zero (or below, for negative values).
    static func lineChart(_ points: [Point], xTitle: String, yTitle: String, label: String) -> String {
        let width = 460.0, height = 280.0
        let left = 64.0, right = 32.0, top = 30.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let baseline = top + plotHeight
        let sorted = points.sorted { $0.x < $1.x }
        guard let xMin = sorted.first?.x, let xMax = sorted.last?.x,
            let yHigh = sorted.map(\.y).max(), let yLow = sorted.map(\.y).min()
        else { return "" }

        // Viewer counts usually step by factors (1k, 10k, 100k); on a linear axis the
        // smaller runs would pile up against the left edge.
        let logarithmic = xMin > 0 && xMax / xMin >= 20
        let xLow = logarithmic ? log10(xMin) : xMin
        let xHigh = logarithmic ? log10(xMax) : xMax
        func xPosition(_ value: Double) -> Double {
            guard xHigh > xLow else { return left + plotWidth / 2 }
            return left + ((logarithmic ? log10(value) : value) - xLow) / (xHigh - xLow) * plotWidth
        }
        let yMin = min(0, yLow)
        let yMax = yHigh > yMin ? yHigh : yMin + 1
        func yPosition(_ value: Double) -> Double {
            baseline - (value - yMin) / (yMax - yMin) * plotHeight
        }

        var svg = svgElement(width: width, height: height, label: label)
        svg += line(x1: left, y1: top, x2: width - right, y2: top, color: grid)
        svg += line(x1: left, y1: top, x2: left, y2: baseline, color: axis)
        svg += line(x1: left, y1: baseline, x2: width - right, y2: baseline, color: axis)
        svg += text(LoadResult.format(yMax), x: left - 6, y: top + 4, anchor: "end")
        svg += text(LoadResult.format(yMin), x: left - 6, y: baseline + 4, anchor: "end")
        svg += text(yTitle, x: 14, y: top + plotHeight / 2, rotation: -90)
        for point in sorted {
            let x = xPosition(point.x)
            svg += line(x1: x, y1: baseline, x2: x, y2: baseline + 4, color: axis)
        }
        svg += text(LoadResult.format(xMin), x: xPosition(xMin), y: baseline + 17)
        if xMax != xMin { svg += text(LoadResult.format(xMax), x: xPosition(xMax), y: baseline + 17) }
        svg += text(xTitle + (logarithmic ? " (log scale)" : ""), x: left + plotWidth / 2, y: height - 8)

        let path = sorted.enumerated().map { index, point in
            "\(index == 0 ? "M" : "L")\(number(xPosition(point.x))) \(number(yPosition(point.y)))"
        }.joined(separator: " ")
        svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(accent)\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n"
        for (index, point) in sorted.enumerated() {
            let x = xPosition(point.x), y = yPosition(point.y)
            let value = LoadResult.format(point.y)
            let tooltip = "\(LoadResult.format(point.x)) \(xTitle): \(value) \(yTitle)"
            svg +=
                "<circle cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"3.5\" fill=\"#fff\" stroke=\"\(accent)\" stroke-width=\"2\">"
                + "<title>\(tooltip.htmlEscaped)</title></circle>\n"
            // The end labels lean inwards so they stay inside the chart.
            let anchor = index == 0 ? "start" : index == sorted.count - 1 ? "end" : "middle"
            svg += text(value, x: x, y: y - 9, anchor: anchor)
        }
        svg += "</svg>\n"
        return svg
    }

    private static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func svgElement(width: Double, height: Double, label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(number(width)) \(number(height))\""
            + " width=\"\(number(width))\" height=\"\(number(height))\" role=\"img\" aria-label=\"\(label.htmlEscaped)\""
            + " font-family=\"\(fontFamily)\" font-size=\"11\" fill=\"\(ink)\">\n"
    }

    private static func line(x1: Double, y1: Double, x2: Double, y2: Double, color: String) -> String {
        "<line x1=\"\(number(x1))\" y1=\"\(number(y1))\" x2=\"\(number(x2))\" y2=\"\(number(y2))\" stroke=\"\(color)\" stroke-width=\"1\"/>\n"
    }

    private static func text(_ content: String, x: Double, y: Double, anchor: String = "middle", rotation: Double? = nil) -> String {
        let transform = rotation.map { " transform=\"rotate(\(number($0)) \(number(x)) \(number(y)))\"" } ?? ""
        return "<text x=\"\(number(x))\" y=\"\(number(y))\" text-anchor=\"\(anchor)\"\(transform)>\(content.htmlEscaped)</text>\n"
    }
}

/// "640 µs", "1.3 ms", "2.6 s": one decimal below ten, whole numbers above.
private func compactDuration(_ micros: Double) -> String {
    func short(_ value: Double) -> String {
        value < 9.95 ? String(format: "%.1f", value) : String(format: "%.0f", value)
    }
    if micros < 999.5 { return String(format: "%.0f", micros) + " µs" }
    if micros < 999_500 { return short(micros / 1_000) + " ms" }
    return short(micros / 1_000_000) + " s"
}

private extension String {
    /// Safe as element text and as a single- or double-quoted attribute value. Works on
    /// scalars, not characters: "<" followed by a combining mark is one character that
    /// is not equal to "<", but the browser still sees the "<".
    var htmlEscaped: String {
        var escaped = ""
        escaped.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
