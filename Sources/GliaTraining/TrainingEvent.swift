// Events a training run publishes, in order, to every subscriber (CLI progress line, dashboard,
// run store). One run emits: runStarted, then step* and epoch* interleaved (with checkpointSaved,
// paused/resumed where they happen), then exactly one of finished, earlyStopped+finished, or failed.
import Foundation

/// What a recipe trains.
public enum RecipeKind: String, Codable, Sendable, CaseIterable {
    /// Per-slice tumor / no-tumor classifier (ResNet + head).
    case classifier
    /// Per-pixel tumor mask (ResUNet).
    case segmenter
}

/// Measurements of one optimisation step.
public struct StepMetrics: Sendable, Codable, Equatable {
    /// 1-based epoch the step belongs to.
    public var epoch: Int
    /// 1-based step within the epoch.
    public var step: Int
    /// Steps in this epoch.
    public var stepsPerEpoch: Int
    /// 1-based step counted over the whole run.
    public var globalStep: Int
    public var loss: Float
    /// Accuracy (classifier) or Dice (segmenter) on the step's batch.
    public var metric: Float
    public var imagesPerSecond: Double
    public var learningRate: Float

    public init(epoch: Int, step: Int, stepsPerEpoch: Int, globalStep: Int, loss: Float, metric: Float,
                imagesPerSecond: Double, learningRate: Float) {
        self.epoch = epoch
        self.step = step
        self.stepsPerEpoch = stepsPerEpoch
        self.globalStep = globalStep
        self.loss = loss
        self.metric = metric
        self.imagesPerSecond = imagesPerSecond
        self.learningRate = learningRate
    }
}

/// Summary of one finished epoch.
public struct EpochMetrics: Sendable, Codable, Equatable {
    /// 1-based epoch number.
    public var epoch: Int
    public var trainLoss: Float
    public var trainMetric: Float
    public var validationLoss: Float
    public var validationMetric: Float
    /// Learning rate used during this epoch.
    public var learningRate: Float
    /// Wall-clock duration of the epoch, seconds.
    public var seconds: Double
    /// True when this epoch has the lowest validation loss so far (and so became `best`).
    public var isBest: Bool
    /// The validation metric of the trained weights, when `validationMetric` is that of their
    /// average (a run with `weightAverage` on); nil otherwise.
    public var unaveragedValidationMetric: Float?

    public init(epoch: Int, trainLoss: Float, trainMetric: Float, validationLoss: Float,
                validationMetric: Float, learningRate: Float, seconds: Double, isBest: Bool,
                unaveragedValidationMetric: Float? = nil) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainMetric = trainMetric
        self.validationLoss = validationLoss
        self.validationMetric = validationMetric
        self.learningRate = learningRate
        self.seconds = seconds
        self.isBest = isBest
        self.unaveragedValidationMetric = unaveragedValidationMetric
    }
}

/// Which checkpoint of a run.
public enum CheckpointKind: String, Codable, Sendable {
    /// Lowest validation loss so far.
    case best
    /// End of the latest epoch (or the step where the run was stopped).
    case last
}

/// How a run ended.
public enum RunStatus: String, Codable, Sendable {
    case running, paused, finished, stopped, earlyStopped = "early-stopped", failed
    /// Marked running or paused, but its process on this host is gone (killed, crashed); it can be
    /// resumed from its last checkpoint.
    case interrupted
}

/// One thing that happened in a training run.
public enum TrainingEvent: Sendable, Equatable {
    case runStarted(runID: String, configuration: RunConfiguration)
    /// A slice left out of the run because its image or mask does not decode (after `runStarted`).
    case sliceSkipped(path: String, reason: String)
    case step(StepMetrics)
    case epoch(EpochMetrics)
    case checkpointSaved(kind: CheckpointKind, path: String, epoch: Int)
    case paused
    case resumed
    /// Validation loss did not improve for `patience` epochs; a `finished` event follows.
    case earlyStopped(epoch: Int, bestEpoch: Int)
    case finished(status: RunStatus, bestEpoch: Int?, bestValidationLoss: Float?)
    case failed(message: String)

    /// True for the events after which the run publishes nothing more.
    public var isTerminal: Bool {
        switch self {
        case .finished, .failed: return true
        default: return false
        }
    }
}
