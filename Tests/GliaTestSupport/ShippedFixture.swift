// Stand-in shipped models for tests: untrained checkpoints written the way the shipped ones are
// (safetensors with the model configuration in their metadata) and a split.json, in a folder a test
// points GLIA_MODELS (or the lookup) at. Untrained weights are enough to test the wiring; what the
// models say is not checked.
import Foundation
import GliaCore

/// Writes a shipped-models folder.
public enum ShippedFixture {
    /// Writes `segmenter.safetensors`, `classifier.safetensors` (either can be left out) and, when
    /// given, a `split.json` of `train` / `validation` / `test` patient ids into `folder`.
    /// `segmenter` defaults to the full-size ResUNet; tests that predict a lot pass a narrower one.
    public static func write(to folder: URL, segmenter: ResUNetConfiguration? = .standard, classifier: Bool = true,
                             split: (train: [String], validation: [String], test: [String])? = nil) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if let segmenter {
            try Checkpoint.saveModel(try ResUNet(configuration: segmenter, seed: 1),
                                     to: folder.appendingPathComponent("segmenter.safetensors"))
        }
        if classifier {
            // A one-block-per-stage ResNet: the smallest backbone the classifier recipe offers.
            let configuration = ClassifierConfiguration(backbone: ResNetConfiguration(block: .basic, blocksPerStage: [1, 1, 1, 1]))
            try Checkpoint.saveModel(try ClassifierModel(configuration: configuration, seed: 2),
                                     to: folder.appendingPathComponent("classifier.safetensors"))
        }
        if let split {
            // The layout `DatasetSplit.write` produces (GliaData is not a dependency of this target).
            let object: [String: Any] = ["fractions": [0.7, 0.15, 0.15], "seed": 1,
                                         "train": split.train, "validation": split.validation, "test": split.test]
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                .write(to: folder.appendingPathComponent("split.json"))
        }
    }
}
