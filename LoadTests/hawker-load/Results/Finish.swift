import ArgumentParser

/// Prints the summary, writes the JSON and HTML, and fails the command when the run failed.
func finish(_ result: LoadResult, json: String?) throws {
    print(result.table)
    try result.write(json: json)
    if !result.passed { throw ExitCode(1) }
}
