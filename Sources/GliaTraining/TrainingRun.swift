// Starting and resuming runs: the one way the CLI and the workstation launch training.
// A run = a folder and row in the workspace, a recipe session, a training actor, and the run store
// subscribed to the actor so the history is written whoever else is watching.
import Foundation
import GliaCore
import GliaData

/// A launched run: its actor, plus the task writing its events to the run store.
public struct TrainingRun: Sendable {
    public let runID: String
    public let actor: TrainingActor
    /// Finishes after the run's last event is stored; await it before exiting.
    public let recording: Task<Void, Never>

    /// Creates a new run in `store` and prepares it (data indexed, split written, model built).
    /// Call `actor.run()` to train.
    /// Throws `RunConfigurationError` before anything is created when the configuration is unusable,
    /// and leaves no run behind when its data cannot be prepared.
    public static func start(_ configuration: RunConfiguration, store: RunStore) throws -> TrainingRun {
        try check(configuration)
        let run = try store.createRun(configuration)
        do {
            return try launch(runID: run.id, configuration: configuration, store: store, checkpoint: nil)
        } catch {
            // Nothing trained: a run that could not start (too few patients, unreadable data) is not
            // kept as a failed one to clutter `glia runs`; the error says why.
            try? store.deleteRun(run.id)
            throw error
        }
    }

    /// Throws for a configuration no run can use: `TrainingDataError` for a classifier input too small
    /// for its head (naming the smallest that works), else `RunConfiguration.validate()`'s
    /// `RunConfigurationError`.
    public static func check(_ configuration: RunConfiguration) throws {
        try ClassifierSession.checkImageSize(configuration)
        try configuration.validate()
    }

    /// Continues a run from its `last` checkpoint with the same optimizer state, learning rate and
    /// random streams. Refused while another process trains the run.
    public static func resume(_ idOrPrefix: String, store: RunStore) throws -> TrainingRun {
        let run = try store.run(matching: idOrPrefix)
        let owner = run.pid.map { pid in "pid \(pid)" + (run.host.map { " on \($0)" } ?? "") }
        let lock = try RunLock(folder: store.folder(for: run.id), runID: run.id, owner: owner)
        let url = store.folder(for: run.id).appendingPathComponent("last.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingDataError("run \(run.id) has no last checkpoint to resume from (\(url.path))")
        }
        let file = try SafeTensorsFile(contentsOf: url)
        let configuration = try TrainingCheckpoint.runConfiguration(metadata: file.metadata, path: file.path)
        try configuration.validate()
        return try launch(runID: run.id, configuration: configuration, store: store, checkpoint: file, lock: lock)
    }

    /// Prepares the run; `lock` (taken here for a new run) is held until its last event is stored.
    private static func launch(runID: String, configuration: RunConfiguration, store: RunStore,
                               checkpoint: SafeTensorsFile?, lock: RunLock? = nil) throws -> TrainingRun {
        let folder = store.folder(for: runID)
        let lock = try lock ?? RunLock(folder: folder, runID: runID, owner: nil)
        let data = try TrainingData(configuration: configuration, splitURL: folder.appendingPathComponent("split.json"))
        let session: any RecipeSession
        let progress: TrainingProgress
        switch configuration.recipe {
        case .segmenter:
            let s = try SegmenterSession(configuration: configuration, data: data, resumeFrom: checkpoint)
            progress = s.progress
            session = s
        case .classifier:
            let s = try ClassifierSession(configuration: configuration, data: data, resumeFrom: checkpoint)
            progress = s.progress
            session = s
        }
        let actor = TrainingActor(runID: runID, configuration: configuration, folder: folder,
                                  session: session, progress: progress, skipped: data.skipped)
        let recording = Task {
            for await event in await actor.subscribe() {
                do { try store.record(event, runID: runID) } catch {
                    // The history is secondary to the run: a write failure must not stop training.
                    continue
                }
            }
            // The run is over only when its last event is stored; until then no other process may take it.
            withExtendedLifetime(lock) {}
        }
        return TrainingRun(runID: runID, actor: actor, recording: recording)
    }
}
