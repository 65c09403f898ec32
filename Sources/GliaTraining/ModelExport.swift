// Exporting a trained model: the weights and what inference needs, without the optimizer state
// that a training checkpoint carries (Adam's two moments triple a file's size).
//
// Kept metadata: glia.model (rebuilds the model), glia.run (the input size and the recipe it was
// trained with), a classifier's chosen thresholds and a segmenter's chosen test-time augmentation
// and post-processing; plus glia.source, the checkpoint it came from.
import Foundation
import GliaCore

/// Writes model-only copies of checkpoints.
public enum ModelExport {
    /// Metadata keys an exported file keeps.
    static let keptKeys = [ModelConfiguration.metadataKey, "glia.run", TrainedModel.thresholdKey,
                           TrainedModel.gateThresholdKey, TrainedModel.testTimeAugmentationKey,
                           TrainedModel.postprocessingKey]

    /// Writes the model of `reference` (a run id, unique prefix or checkpoint file) to `url`
    /// atomically, with a segmenter's chosen inference settings when given; returns the checkpoint
    /// it read.
    @discardableResult
    public static func write(_ reference: String, store: RunStore?, to url: URL,
                             testTimeAugmentation: TestTimeAugmentation? = nil,
                             postprocessing: VolumePostprocessing? = nil) throws -> URL {
        let source = try TrainedModel.checkpointURL(reference, store: store)
        let (model, loaded) = try Checkpoint.loadModel(from: source)
        guard model.parametersAreFinite else {
            throw TrainingDataError("\(source.path): the model holds NaN or infinite weights; not exported")
        }
        var metadata = loaded.metadata.filter { keptKeys.contains($0.key) }
        metadata["glia.source"] = source.lastPathComponent
        if testTimeAugmentation != nil || postprocessing != nil {
            guard model is ResUNet else {
                throw TrainingDataError("\(source.path): test-time augmentation and post-processing are segmenter settings")
            }
        }
        if let testTimeAugmentation { metadata[TrainedModel.testTimeAugmentationKey] = testTimeAugmentation.rawValue }
        if let postprocessing { metadata[TrainedModel.postprocessingKey] = postprocessing.rawValue }
        try Checkpoint.saveModel(model, to: url, metadata: metadata)
        return source
    }
}
