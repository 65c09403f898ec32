// glia triage export: the triage decisions of a workspace as CSV (patient, slice, model run,
// decision, rating, rating label, note, time in ISO 8601 UTC, and whether the shipped models were
// trained or validated on the patient), to stdout or a file.
import ArgumentParser
import Foundation
import GliaTraining

struct Triage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with triage decisions made in the workstation (T).",
        subcommands: [TriageExport.self])
}

struct TriageExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every triage decision as CSV.",
        discussion: """
            Columns: patient, slice, model_run, decision, rating, rating_label, note, time (ISO 8601, UTC), \
            shipped_split ("train" or "val" for patients the shipped models were trained or validated on, \
            from Models/split.json; empty otherwise).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv
    }

    @Option(help: "Output format (csv).") var format = Format.csv
    @Option(help: "Write to this file instead of standard output.") var out: String?
    @Option(name: .customLong("model-run"), help: "Only decisions for this model pair (\"<classifier-run>+<segmenter-run>\").")
    var modelRun: String?
    @OptionGroup var workspace: WorkspaceOptions

    func run() throws {
        let store = TriageStore(workspace: try workspace.open())
        let csv: String
        let shippedPatients: [String: String]
        do {
            shippedPatients = try ShippedModels.locate().seenPatients()
        } catch {
            throw CommandError("\(error)")
        }
        do {
            csv = try store.exportCSV(modelRun: modelRun, shippedPatients: shippedPatients)
        } catch {
            throw CommandError("cannot read triage decisions from \(workspace.url.path): \(error)")
        }
        guard let out else {
            print(csv, terminator: "")
            return
        }
        do {
            try Data(csv.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CommandError("cannot write \(out): \(error.localizedDescription)")
        }
    }
}
