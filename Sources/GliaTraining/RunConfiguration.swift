// The configuration of one training run: everything needed to repeat it. Saved as
// `configuration.json` in the run's folder and in the run store.
import Foundation

/// Options of a training run; defaults are the recipe defaults (see `RunConfiguration.defaults(for:)`).
public struct RunConfiguration: Codable, Sendable, Equatable {
    public var recipe: RecipeKind
    /// Dataset root (kaggle_3m folder or seed CSV), as given by the user.
    public var dataPath: String
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var weightDecay: Float
    /// Seed of every random stream in the run (initialisation, split, order, augmentation, dropout).
    public var seed: UInt64
    /// Epochs without validation-loss improvement before early stopping.
    public var patience: Int
    /// Patient-level split fractions (test = 1 - train - validation).
    public var trainFraction: Double
    public var validationFraction: Double
    /// Fraction of each batch drawn from tumor slices (0 = natural frequency).
    public var tumorFraction: Double
    public var augment: Bool
    /// Side of the square input the model sees, pixels.
    public var imageSize: Int
    /// Classifier backbone: "resnet18", "resnet34" or "resnet50".
    public var backbone: String
    /// Classifier: train the head only, the backbone stays as loaded.
    public var freezeBackbone: Bool
    /// Classifier: torchvision-named safetensors weights for the backbone.
    public var weightsPath: String?
    /// Stop after this many steps per epoch (0 = whole epoch); for quick runs and tests.
    public var maxStepsPerEpoch: Int

    /// Recipe defaults.
    public static func defaults(for recipe: RecipeKind, dataPath: String) -> RunConfiguration {
        switch recipe {
        case .classifier:
            return RunConfiguration(
                recipe: .classifier, dataPath: dataPath, epochs: 10, batchSize: 16, learningRate: 1e-3,
                weightDecay: 0, seed: 1, patience: 3, trainFraction: 0.7, validationFraction: 0.15,
                tumorFraction: 0, augment: true, imageSize: 256, backbone: "resnet18",
                freezeBackbone: false, weightsPath: nil, maxStepsPerEpoch: 0)
        case .segmenter:
            return RunConfiguration(
                recipe: .segmenter, dataPath: dataPath, epochs: 20, batchSize: 16, learningRate: 1e-3,
                weightDecay: 0, seed: 1, patience: 5, trainFraction: 0.7, validationFraction: 0.15,
                tumorFraction: 0.5, augment: true, imageSize: 256, backbone: "resnet18",
                freezeBackbone: false, weightsPath: nil, maxStepsPerEpoch: 0)
        }
    }
}
