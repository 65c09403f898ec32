// glia data check: summarises a dataset and lists every problem with its file.
import ArgumentParser
import Foundation
import GliaData

// Named DataCommand, not Data, so that it does not shadow Foundation.Data in the glia target.
struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Inspect datasets (kaggle_3m folders or the seed's CSV).",
        subcommands: [DataCheckCommand.self])
}

struct DataCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Count patients, slices and tumor slices, and list every problem with its file.",
        discussion: "Exits with a non-zero status only when no slice is usable.")

    @Argument(help: "A kaggle_3m-style folder, or a seed CSV (patient_id,image_path,mask_path,mask). Default: the phantom dataset (created on first use).")
    var path: String?

    @Flag(help: "Print the report as JSON (stable schema) instead of a table.")
    var json = false

    func run() async throws {
        let url = try path.map { URL(fileURLWithPath: $0) } ?? Phantom.ensureDefaultDataset()
        let report = try DataCheck.run(url)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.format(report), terminator: "")
        }
        if !report.hasUsableData { throw ExitCode(2) }
    }

    /// The human form: a summary table, the per-institution table, then problems grouped by kind.
    static func format(_ r: DataCheckReport) -> String {
        var out = "Dataset \(r.root) (\(r.format))\n\n"
        let rows: [(String, String)] = [
            ("patients", "\(r.patients)"), ("slices", "\(r.slices)"),
            ("usable slices", "\(r.usableSlices)"), ("tumor slices", "\(r.tumorSlices)"),
            ("healthy slices", "\(r.healthySlices)"),
            ("patients with data.csv row", "\(r.patientsWithMetadata)"),
        ]
        for (name, value) in rows { out += "  \(pad(name, 28))\(pad(value, 8, right: true))\n" }
        out += "\n  \(pad("institution", 13))\(pad("patients", 10, right: true))\(pad("slices", 9, right: true))\(pad("tumor", 8, right: true))\n"
        for i in r.institutions {
            out += "  \(pad(i.code, 13))\(pad("\(i.patients)", 10, right: true))\(pad("\(i.slices)", 9, right: true))\(pad("\(i.tumorSlices)", 8, right: true))\n"
        }
        if r.problems.isEmpty {
            out += "\nNo problems found.\n"
            return out
        }
        out += "\n\(r.errorCount) error(s), \(r.warningCount) warning(s):\n"
        for kind in DataProblem.Kind.allCases {
            let group = r.problems.filter { $0.kind == kind }
            guard !group.isEmpty else { continue }
            out += "\n\(kind.rawValue) (\(group.count)):\n"
            for p in group { out += "  \(p.severity == .error ? "error" : "warn ") \(p.path)\n        \(p.detail)\n" }
        }
        if !r.hasUsableData { out += "\nNothing usable: no slice has a readable image and mask.\n" }
        return out
    }

    private static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}
