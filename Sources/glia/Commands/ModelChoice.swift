// Which models a command runs: the ones named with --classifier / --segmenter, else (when neither
// is named) the shipped pair. Shared by eval and predict so both explain a missing pair the same way.
import ArgumentParser
import Foundation
import GliaTraining

/// The model references a command uses.
struct ModelChoice {
    /// Classifier run id or checkpoint file, if any.
    var classifier: String?
    /// Segmenter run id or checkpoint file, if any.
    var segmenter: String?
    /// The shipped folder, when the shipped models were chosen because none was named.
    var shipped: ShippedModels?

    /// Help text for --classifier / --segmenter.
    static func help(_ kind: String) -> ArgumentHelp {
        ArgumentHelp("\(kind) run or checkpoint file (default, when neither model is named: the shipped \(kind.lowercased()), see Models/README.md).")
    }

    /// Whether a reference names a run (looked up in the workspace) rather than a checkpoint file;
    /// checkpoint files need no workspace, so a missing, read-only or damaged one cannot stop them.
    var namesRun: Bool {
        [classifier, segmenter].contains { $0.map { !TrainedModel.isCheckpointFile($0) } ?? false }
    }

    /// The run store when a reference names a run, else nil (opened read-only).
    func store(_ workspace: WorkspaceOptions) throws -> RunStore? {
        namesRun ? RunStore(workspace: try workspace.openForReading()) : nil
    }

    /// Fails in argument validation when neither model is named and none is shipped.
    static func validate(classifier: String?, segmenter: String?, shipped: ShippedModels = .locate()) throws {
        if classifier == nil, segmenter == nil, let absence = shipped.absence {
            throw ValidationError("give --classifier, --segmenter or both (\(absence))")
        }
    }

    /// The named models, or the shipped ones when neither is named.
    static func resolve(classifier: String?, segmenter: String?, shipped: ShippedModels = .locate()) -> ModelChoice {
        guard classifier == nil, segmenter == nil else { return ModelChoice(classifier: classifier, segmenter: segmenter) }
        return ModelChoice(classifier: shipped.classifier?.path, segmenter: shipped.segmenter?.path, shipped: shipped)
    }
}
