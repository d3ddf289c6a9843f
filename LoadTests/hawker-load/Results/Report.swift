import ArgumentParser
import Foundation

/// One HTML page from any number of result files. It lets runs made one at a time, for
/// example at several viewer counts, be read together.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Combine result files into one HTML report (latency histograms; throughput and p99 against viewers)."
    )

    @Argument(help: "Result files, as written by --json.")
    var files: [String]

    @Option(name: .shortAndLong, help: "Where to write the HTML page.")
    var output = "report.html"

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("Give at least one result file.") }
    }

    func run() throws {
        let results = try files.map { try readResult(at: $0) }
        let html = HTMLReport(results: results).render()
        // Atomic, so a browser reloading the page never sees half of it.
        try Data(html.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        print(output)
    }
}
