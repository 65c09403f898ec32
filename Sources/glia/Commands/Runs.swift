// glia runs: the training runs of a workspace, newest first.
import ArgumentParser
import Foundation
import GliaTraining

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List training runs: status, epochs, best validation loss and metric.")

    @OptionGroup var workspace: WorkspaceOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Add run folders that the database does not know (after it was lost or emptied) back to it, from each folder's configuration and checkpoints.")
    var register = false

    func run() throws {
        let store = RunStore(workspace: try register ? workspace.open() : workspace.openForReading())
        var unknown = try store.unregisteredRunFolders()
        if register {
            for folder in unknown {
                do {
                    try store.register(folder: folder)
                    print("registered \(folder.lastPathComponent)")
                } catch {
                    FileHandle.standardError.write(Data("warning: \(error)\n".utf8))
                }
            }
            unknown = try store.unregisteredRunFolders()
        }
        if !unknown.isEmpty {
            let names = unknown.prefix(5).map(\.lastPathComponent).joined(separator: ", ") + (unknown.count > 5 ? ", ..." : "")
            FileHandle.standardError.write(Data(("warning: \(unknown.count) run folder(s) in \(workspace.url.appendingPathComponent("runs").path) "
                + "are not in the database (\(names)); 'glia runs --register' adds them back\n").utf8))
        }
        let runs = try store.runs()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(runs), as: UTF8.self))
            return
        }
        guard !runs.isEmpty else {
            print("No runs in \(workspace.url.path). Start one with 'glia train classifier|segmenter'.")
            return
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        // DATA names the dataset folder a run was trained on, so a run of another dataset stands out.
        let header = ["RUN", "RECIPE", "STATUS", "DATA", "EPOCHS", "BEST", "VAL LOSS", "VAL METRIC", "STARTED"]
        let rows = runs.map { r in
            [r.id, r.recipe, r.status, (try? r.decodedConfiguration()).map { URL(fileURLWithPath: $0.dataPath).lastPathComponent } ?? "-",
             String(r.epochsDone), r.bestEpoch.map(String.init) ?? "-",
             r.bestValidationLoss.map { String(format: "%.4f", $0) } ?? "-",
             r.bestValidationMetric.map { String(format: "%.4f", $0) } ?? "-",
             formatter.string(from: r.createdAt)]
        }
        print(TextTable(header: header, rows: rows).rendered)
        for r in runs where r.status == RunStatus.failed.rawValue {
            print("\(r.id): \(r.message ?? "failed")")
        }
        for r in runs where r.skippedSlices > 0 {
            print("\(r.id): \(r.skippedSlices) undecodable slice(s) left out (named by its 'skipped slice' log lines)")
        }
    }
}
