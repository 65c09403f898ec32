// glia synth: writes the phantom dataset (synthetic brain MRI in the kaggle_3m layout).
import ArgumentParser
import Foundation
import GliaData

struct Synth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic brain-MRI dataset in the kaggle_3m layout (with data.csv).")

    @Option(help: "Folder to create (must not exist, or be empty).")
    var out: String

    @Option(help: "Number of patients.")
    var patients = Phantom.Configuration.default.patients

    @Option(help: "Random seed: the same seed writes the same files.")
    var seed: UInt64 = Phantom.Configuration.default.seed

    func run() async throws {
        guard patients > 0 else { throw ValidationError("--patients must be at least 1") }
        var config = Phantom.Configuration.default
        config.patients = patients
        config.seed = seed
        let start = Date()
        let summary = try Phantom.write(to: URL(fileURLWithPath: out), configuration: config)
        print("Wrote \(summary.patients) patients, \(summary.slices) slices (\(summary.tumorSlices) with tumor) to \(out) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }
}
