// swift-tools-version:6.1
import PackageDescription

// Allocation benchmarks (ordo-one/benchmark), kept out of the main package so that its
// builds and tests do not pull in the benchmark tooling. `.ci/run` checks the thresholds
// in Thresholds/:
//
//   cd Benchmarks && swift package benchmark thresholds check --path "$PWD/Thresholds"
let package = Package(
    name: "HawkerBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "hawker", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // The malloc interposer counts allocations without jemalloc; naming the trait also
        // leaves out the runtime interposer, which is not needed here.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "FanoutAllocations",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "HawkerServer", package: "hawker"),
                .product(name: "HawkerAuth", package: "hawker"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/FanoutAllocations",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
