// The configuration of one training run: everything needed to repeat it. Saved as
// `configuration.json` in the run's folder and in the run store.
//
// Fields added after the first release decode with the value that older runs actually used
// (`legacy` below), so a run folder from an earlier Glia still resumes exactly as it was trained.
import Foundation

/// The segmenter's training loss.
public enum SegmentationLossKind: String, Codable, Sendable, CaseIterable {
    /// Focal Tversky (alpha 0.7, gamma 0.75): weighs missed tumor pixels above false alarms.
    case focalTversky = "focal-tversky"
    /// Soft Dice over the batch, as Buda et al. train.
    case dice
    /// Soft Dice plus binary cross-entropy (mean of the two).
    case diceBCE = "dice-bce"
}

/// How the learning rate changes over a run.
public enum LearningRateScheduleKind: String, Codable, Sendable, CaseIterable {
    /// ReduceLROnPlateau on the validation loss (factor 0.1, patience 2).
    case plateau
    /// Cosine annealing per step from the initial rate to 1 % of it at the last step of the last epoch.
    case cosine
}

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
    /// Epochs without validation improvement (loss, or Dice for the segmenter) before early stopping.
    public var patience: Int
    /// Patient-level split fractions (test = 1 - train - validation).
    public var trainFraction: Double
    public var validationFraction: Double
    /// Fraction of each batch drawn from tumor slices (0 = natural frequency).
    public var tumorFraction: Double
    public var augment: Bool
    /// Side of the square input the model sees, pixels.
    public var imageSize: Int
    /// Classifier backbone: "resnet10", "resnet18", "resnet34", "resnet50", or "segmenter" (a gate on
    /// the masks of the trained segmenter named by `segmenterPath`).
    public var backbone: String
    /// Classifier: train the head only, the backbone stays as loaded.
    public var freezeBackbone: Bool
    /// Classifier: torchvision-named safetensors weights for the backbone.
    public var weightsPath: String?
    /// Stop after this many steps per epoch (0 = whole epoch); for quick runs and tests.
    public var maxStepsPerEpoch: Int
    /// Segmenter: the training loss.
    public var loss: SegmentationLossKind
    /// The learning-rate schedule.
    public var schedule: LearningRateScheduleKind
    /// Classifier: the segmenter checkpoint (file) that the "segmenter" backbone gates on, and
    /// that picks the pipeline's gate threshold for any classifier.
    public var segmenterPath: String?
    /// A split file (split.json) to train on instead of making one from the fractions and seed.
    public var splitPath: String?
    /// Classifier, "segmenter" backbone: the slices on either side of a slice whose masks the gate
    /// reads (0: the slice alone). Default 2, chosen on validation patients (README "Training").
    public var neighbourReach: Int
    /// Decay of the moving average of the weights that validation, `best` and `last` use (0: no
    /// averaging, the trained weights themselves; 0.998 averages about the last 500 steps, five
    /// epochs of the sample). Default 0: on the validation patients the averaged segmenter's best
    /// epoch scored below the best epoch of the trained weights (Models/README.md).
    public var weightAverage: Double

    /// The segmenter's default epochs; early stopping is off by default (patience = epochs), since a
    /// cosine schedule does its best work in its last, low-rate epochs.
    public static let segmenterEpochs = 40

    /// Recipe defaults (README "Training" says what each segmenter choice was measured to give).
    public static func defaults(for recipe: RecipeKind, dataPath: String) -> RunConfiguration {
        switch recipe {
        case .classifier:
            return RunConfiguration(
                recipe: .classifier, dataPath: dataPath, epochs: 10, batchSize: 16, learningRate: 1e-3,
                weightDecay: 0, seed: 1, patience: 3, trainFraction: 0.7, validationFraction: 0.15,
                tumorFraction: 0, augment: true, imageSize: 256, backbone: "resnet18",
                freezeBackbone: false, weightsPath: nil, maxStepsPerEpoch: 0,
                loss: .focalTversky, schedule: .plateau, segmenterPath: nil, splitPath: nil, neighbourReach: 2)
        case .segmenter:
            return RunConfiguration(
                recipe: .segmenter, dataPath: dataPath, epochs: segmenterEpochs, batchSize: 16, learningRate: 1e-3,
                weightDecay: 0, seed: 1, patience: segmenterEpochs, trainFraction: 0.7, validationFraction: 0.15,
                tumorFraction: 0.5, augment: true, imageSize: 128, backbone: "resnet18",
                freezeBackbone: false, weightsPath: nil, maxStepsPerEpoch: 0,
                loss: .diceBCE, schedule: .cosine, segmenterPath: nil, splitPath: nil)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case recipe, dataPath, epochs, batchSize, learningRate, weightDecay, seed, patience, trainFraction,
             validationFraction, tumorFraction, augment, imageSize, backbone, freezeBackbone, weightsPath,
             maxStepsPerEpoch, loss, schedule, segmenterPath, splitPath, neighbourReach, weightAverage
    }

    public init(recipe: RecipeKind, dataPath: String, epochs: Int, batchSize: Int, learningRate: Float,
                weightDecay: Float, seed: UInt64, patience: Int, trainFraction: Double, validationFraction: Double,
                tumorFraction: Double, augment: Bool, imageSize: Int, backbone: String, freezeBackbone: Bool,
                weightsPath: String?, maxStepsPerEpoch: Int, loss: SegmentationLossKind,
                schedule: LearningRateScheduleKind, segmenterPath: String?, splitPath: String?,
                neighbourReach: Int = 0, weightAverage: Double = 0) {
        self.recipe = recipe
        self.dataPath = dataPath
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.seed = seed
        self.patience = patience
        self.trainFraction = trainFraction
        self.validationFraction = validationFraction
        self.tumorFraction = tumorFraction
        self.augment = augment
        self.imageSize = imageSize
        self.backbone = backbone
        self.freezeBackbone = freezeBackbone
        self.weightsPath = weightsPath
        self.maxStepsPerEpoch = maxStepsPerEpoch
        self.loss = loss
        self.schedule = schedule
        self.segmenterPath = segmenterPath
        self.splitPath = splitPath
        self.neighbourReach = neighbourReach
        self.weightAverage = weightAverage
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        recipe = try c.decode(RecipeKind.self, forKey: .recipe)
        dataPath = try c.decode(String.self, forKey: .dataPath)
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        weightDecay = try c.decode(Float.self, forKey: .weightDecay)
        seed = try c.decode(UInt64.self, forKey: .seed)
        patience = try c.decode(Int.self, forKey: .patience)
        trainFraction = try c.decode(Double.self, forKey: .trainFraction)
        validationFraction = try c.decode(Double.self, forKey: .validationFraction)
        tumorFraction = try c.decode(Double.self, forKey: .tumorFraction)
        augment = try c.decode(Bool.self, forKey: .augment)
        imageSize = try c.decode(Int.self, forKey: .imageSize)
        backbone = try c.decode(String.self, forKey: .backbone)
        freezeBackbone = try c.decode(Bool.self, forKey: .freezeBackbone)
        weightsPath = try c.decodeIfPresent(String.self, forKey: .weightsPath)
        maxStepsPerEpoch = try c.decode(Int.self, forKey: .maxStepsPerEpoch)
        loss = try c.decodeIfPresent(SegmentationLossKind.self, forKey: .loss) ?? .focalTversky
        schedule = try c.decodeIfPresent(LearningRateScheduleKind.self, forKey: .schedule) ?? .plateau
        segmenterPath = try c.decodeIfPresent(String.self, forKey: .segmenterPath)
        splitPath = try c.decodeIfPresent(String.self, forKey: .splitPath)
        neighbourReach = try c.decodeIfPresent(Int.self, forKey: .neighbourReach) ?? 0
        weightAverage = try c.decodeIfPresent(Double.self, forKey: .weightAverage) ?? 0
    }

    /// Points a classifier run at a trained segmenter file: the pipeline's gate threshold is chosen
    /// with it, and its `split.json`, when one lies beside it, is the split unless `keepSplit`. For
    /// the "segmenter" backbone (the default then, unless `keepBackbone`) the gate also runs at the
    /// segmenter's input size (`requestedImageSize`, when given, must equal it), trains on cached
    /// features of un-augmented slices, and at learning rate 0.05 (unless `keepLearningRate`): three
    /// parameters learn fast.
    public mutating func gate(on file: URL, keepSplit: Bool, keepBackbone: Bool, requestedImageSize: Int?,
                              keepLearningRate: Bool) throws {
        segmenterPath = file.path
        if !keepSplit {
            let beside = file.deletingLastPathComponent().appendingPathComponent("split.json")
            if FileManager.default.fileExists(atPath: beside.path) { splitPath = beside.path }
        }
        if !keepBackbone { backbone = ClassifierSession.segmenterBackbone }
        guard backbone == ClassifierSession.segmenterBackbone else { return }
        let trained = try TrainedModel.load(file.path, store: nil)
        if let requestedImageSize, requestedImageSize != trained.imageSize {
            throw TrainingDataError("image size \(requestedImageSize): the segmenter \(file.path) runs at \(trained.imageSize) px, and so must its gate")
        }
        imageSize = trained.imageSize
        augment = false
        if !keepLearningRate { learningRate = 0.05 }
    }
}
