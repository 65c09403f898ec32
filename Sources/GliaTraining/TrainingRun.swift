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
    public static func start(_ configuration: RunConfiguration, store: RunStore) throws -> TrainingRun {
        try ClassifierSession.checkImageSize(configuration)
        let run = try store.createRun(configuration)
        do {
            return try launch(runID: run.id, configuration: configuration, store: store, checkpoint: nil)
        } catch {
            try? store.record(.failed(message: "\(error)"), runID: run.id)
            throw error
        }
    }

    /// Continues a run from its `last` checkpoint with the same optimizer state, learning rate and
    /// random streams.
    public static func resume(_ idOrPrefix: String, store: RunStore) throws -> TrainingRun {
        let run = try store.run(matching: idOrPrefix)
        let url = store.folder(for: run.id).appendingPathComponent("last.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingDataError("run \(run.id) has no last checkpoint to resume from (\(url.path))")
        }
        let file = try SafeTensorsFile(contentsOf: url)
        let configuration = try TrainingCheckpoint.runConfiguration(metadata: file.metadata, path: file.path)
        return try launch(runID: run.id, configuration: configuration, store: store, checkpoint: file)
    }

    private static func launch(runID: String, configuration: RunConfiguration, store: RunStore,
                               checkpoint: SafeTensorsFile?) throws -> TrainingRun {
        let folder = store.folder(for: runID)
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
                                  session: session, progress: progress)
        let recording = Task {
            for await event in await actor.subscribe() {
                do { try store.record(event, runID: runID) } catch {
                    // The history is secondary to the run: a write failure must not stop training.
                    continue
                }
            }
        }
        return TrainingRun(runID: runID, actor: actor, recording: recording)
    }
}
