// Whole-model checkpoints and pretrained backbones.
//
// A model checkpoint is a safetensors file with the model's tensors under their PyTorch names (see
// Checkpoint.swift) and its configuration JSON under the metadata key `glia.model`, so the file alone
// rebuilds the model: `let (model, _) = try Checkpoint.loadModel(from: url)`.
//
// A pretrained backbone is a torchvision ResNet state_dict converted to safetensors: its `fc.*` (and
// any other extra entry) is ignored, and `num_batches_tracked` may be absent (torchvision's published
// weights predate that buffer; PyTorch then keeps the model's own value, and so does Glia).
import Foundation

/// A checkpoint whose model cannot be rebuilt, naming the file.
public struct ModelCheckpointError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The checkpoint's path.
    public var path: String
    /// Why its configuration is unusable.
    public var reason: ModelConfigurationError

    public init(path: String, reason: ModelConfigurationError) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
    public var errorDescription: String? { description }
}

extension Checkpoint {
    /// Saves `model`'s tensors with its configuration in the metadata (added to `metadata`, and
    /// taking precedence over an entry of the same key) and `extraTensors` (optimizer state and the like).
    public static func saveModel(_ model: any Model, to url: URL, metadata: [String: String] = [:],
                                 extraTensors: [String: Tensor] = [:]) throws {
        try save(model, to: url, metadata: metadata.merging(model.configuration.metadata) { _, own in own },
                 extraTensors: extraTensors)
    }

    /// Rebuilds the model a checkpoint describes and loads every one of its tensors.
    public static func loadModel(from url: URL) throws -> (model: any Model, checkpoint: LoadedCheckpoint) {
        let file = try SafeTensorsFile(contentsOf: url)
        let model: any Model
        do {
            let configuration = try ModelConfiguration(metadata: file.metadata)
            // Built from file text, the model could be far larger than memory; the file must hold its values.
            let needed = configuration.minimumStateCount
            guard needed <= file.elementCount else {
                throw ModelConfigurationError.largerThanFile(needs: needed, holds: file.elementCount)
            }
            model = try configuration.makeModel(seed: 0)
        } catch let error as ModelConfigurationError {
            throw ModelCheckpointError(path: file.path, reason: error)
        }
        return (model, try load(into: model, from: file))
    }
}

extension ClassifierModel {
    /// Loads the backbone from a torchvision ResNet state_dict in safetensors form (transfer learning),
    /// leaving the head as it is. Names are read as `sourcePrefix + name` ("backbone." or "" for
    /// torchvision's own files); every backbone tensor must be present with torchvision's shape,
    /// except `num_batches_tracked`, which old torchvision weights lack. Only `fc.*` may go unused: any
    /// other extra tensor means the file is another architecture (a ResNet-34 into a ResNet-18).
    public func loadPretrainedBackbone(from file: SafeTensorsFile, sourcePrefix: String = "") throws {
        let stored = Set(file.names)
        let options = CheckpointLoadOptions(
            sourcePrefix: sourcePrefix,
            include: { name in !name.hasSuffix(".num_batches_tracked") || stored.contains(sourcePrefix + name) },
            ignore: { name in name.hasPrefix(sourcePrefix + "fc.") })
        try Checkpoint.load(into: backbone, from: file, options: options)
    }
}
