// What the training actor drives: one recipe (model, loss, optimizer, data) bound to one run.
// The actor owns the loop, events, checkpoints policy and control; a session owns the numbers.
import Foundation

/// Where a run stands; saved in every checkpoint so `--resume` continues exactly here.
public struct TrainingProgress: Codable, Sendable, Equatable {
    /// 1-based epoch to run next (or the one in progress).
    public var epoch: Int = 1
    /// Steps of `epoch` already done.
    public var stepInEpoch: Int = 0
    /// Steps done over the whole run.
    public var globalStep: Int = 0
    public var bestValidationLoss: Float?
    /// Validation metric of the best epoch (the one `best` holds).
    public var bestValidationMetric: Float?
    public var bestEpoch: Int?
    /// Epochs since the validation loss last improved.
    public var epochsWithoutImprovement: Int = 0
    /// Running sums of the current epoch's training loss and metric (for the epoch means).
    public var epochLossSum: Double = 0
    public var epochMetricSum: Double = 0

    public init() {}
}

/// Which validation figure makes an epoch the best so far (and resets early stopping's count).
public enum CheckpointSelection: Sendable, Equatable {
    /// The lowest validation loss.
    case lowestLoss
    /// The highest validation metric (the segmenter's per-volume Dice).
    case highestMetric
}

/// Result of one training step.
public struct StepResult: Sendable {
    public var loss: Float
    /// Accuracy (classifier) or Dice (segmenter) on the batch.
    public var metric: Float
    /// Images in the batch.
    public var images: Int

    public init(loss: Float, metric: Float, images: Int) {
        self.loss = loss
        self.metric = metric
        self.images = images
    }
}

/// An epoch's figures on the validation patients.
public struct ValidationResult: Sendable {
    public var loss: Float
    /// Accuracy (classifier) or per-volume Dice (segmenter); the model's averaged weights give it
    /// when the run averages weights.
    public var metric: Float
    /// The same metric from the trained (not averaged) weights, when the run averages weights; nil
    /// otherwise.
    public var unaveragedMetric: Float?

    public init(loss: Float, metric: Float, unaveragedMetric: Float? = nil) {
        self.loss = loss
        self.metric = metric
        self.unaveragedMetric = unaveragedMetric
    }
}

/// A recipe bound to a run: the model, its optimizer and schedule, and the data.
/// Not thread-safe: the training actor is its only user.
public protocol RecipeSession: AnyObject {
    /// Which validation figure picks the `best` checkpoint.
    var selection: CheckpointSelection { get }
    /// Optimisation steps in one epoch.
    var stepsPerEpoch: Int { get }
    /// Current learning rate.
    var learningRate: Float { get }
    /// Runs step `step` (0-based) of `epoch` (1-based): one batch forward, backward and update.
    func trainStep(epoch: Int, step: Int) throws -> StepResult
    /// Loss and metric over the validation patients.
    func validate() throws -> ValidationResult
    /// Tells the schedule the epoch's validation loss (ReduceLROnPlateau).
    func endEpoch(validationLoss: Float)
    /// True when every parameter is finite (a checkpoint is never written otherwise).
    var parametersAreFinite: Bool { get }
    /// Writes model, optimizer, schedule and random state plus `progress` to `url`, atomically.
    func saveCheckpoint(to url: URL, progress: TrainingProgress) throws
}
