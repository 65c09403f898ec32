// Run folders the database does not know: after the database is lost, emptied or replaced, the runs
// are still on disk, and each folder holds what is needed to list it again: configuration.json (the
// run's configuration) and its checkpoints (progress and best figures in their metadata).
import Foundation
import GliaCore
import GRDB

extension RunStore {
    /// Run folders under `runs/` holding a configuration.json whose id has no row, sorted.
    public func unregisteredRunFolders() throws -> [URL] {
        let runs = workspace.url.appendingPathComponent("runs")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? []
        let known = Set(try workspace.database.read { db in try String.fetchAll(db, sql: "SELECT id FROM run") })
        return names.sorted().filter { name in
            !name.hasPrefix(".") && !known.contains(name)
                && FileManager.default.fileExists(atPath: runs.appendingPathComponent(name).appendingPathComponent("configuration.json").path)
        }.map { runs.appendingPathComponent($0) }
    }

    /// Adds a row for the run folder `folder` from its configuration and its newest checkpoint:
    /// epochs done and the best epoch come from the checkpoint's progress; the status is finished when
    /// every epoch ran, else interrupted (nothing trains it now).
    @discardableResult
    public func register(folder: URL) throws -> RunSummary {
        let configurationURL = folder.appendingPathComponent("configuration.json")
        let json: String
        let configuration: RunConfiguration
        do {
            json = try String(contentsOf: configurationURL, encoding: .utf8)
            configuration = try JSONDecoder().decode(RunConfiguration.self, from: Data(json.utf8))
        } catch {
            throw TrainingDataError("\(configurationURL.path): not a run configuration (\(error.localizedDescription))")
        }
        var progress: TrainingProgress?
        for name in ["last.safetensors", "best.safetensors"] where progress == nil {
            let url = folder.appendingPathComponent(name)
            guard let text = (try? SafeTensorsFile.metadata(at: url))?[TrainingCheckpoint.progressKey] else { continue }
            progress = try? JSONDecoder().decode(TrainingProgress.self, from: Data(text.utf8))
        }
        let epochsDone = max(0, (progress?.epoch ?? 1) - 1)
        let created = (try? FileManager.default.attributesOfItem(atPath: configurationURL.path)[.modificationDate] as? Date) ?? Date()
        let status: RunStatus = epochsDone >= configuration.epochs ? .finished : .interrupted
        let run = RunSummary(id: folder.lastPathComponent, recipe: configuration.recipe.rawValue, status: status.rawValue,
                             createdAt: created, finishedAt: nil, configuration: json, epochsDone: epochsDone,
                             bestEpoch: progress?.bestEpoch, bestValidationLoss: progress?.bestValidationLoss.map(Double.init),
                             bestValidationMetric: progress?.bestValidationMetric.map(Double.init),
                             message: "re-registered from its folder", pid: nil, host: nil)
        try workspace.database.write { db in try run.insert(db) }
        return run
    }
}
