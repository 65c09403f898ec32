// Exporting a trained model: the weights and what inference needs, without the optimizer state
// that a training checkpoint carries (Adam's two moments triple a file's size).
//
// Kept metadata: glia.model (rebuilds the model), glia.run (the input size and the recipe it was
// trained with), and a classifier's chosen thresholds; plus glia.source, the checkpoint it came from.
import Foundation
import GliaCore

/// Writes model-only copies of checkpoints.
public enum ModelExport {
    /// Metadata keys an exported file keeps.
    static let keptKeys = [ModelConfiguration.metadataKey, "glia.run", TrainedModel.thresholdKey,
                           TrainedModel.gateThresholdKey]

    /// Writes the model of `reference` (a run id, unique prefix or checkpoint file) to `url`
    /// atomically; returns the checkpoint it read.
    @discardableResult
    public static func write(_ reference: String, store: RunStore?, to url: URL) throws -> URL {
        let source = try TrainedModel.checkpointURL(reference, store: store)
        let (model, loaded) = try Checkpoint.loadModel(from: source)
        guard model.parametersAreFinite else {
            throw TrainingDataError("\(source.path): the model holds NaN or infinite weights; not exported")
        }
        var metadata = loaded.metadata.filter { keptKeys.contains($0.key) }
        metadata["glia.source"] = source.lastPathComponent
        try Checkpoint.saveModel(model, to: url, metadata: metadata)
        return source
    }
}
