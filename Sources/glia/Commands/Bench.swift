// glia bench: release-build benchmarks that print a table next to an in-run baseline.
import ArgumentParser

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Glia's speed against a baseline measured in the same run.",
        discussion: "Run these from a release build (swift build -c release); debug builds are 10-100x slower.",
        subcommands: [
            BenchConv.self,
            BenchModels.self,
            BenchData.self,
            BenchViewer.self,
        ]
    )
}
