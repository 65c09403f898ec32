// Learning-rate schedules. ReduceLROnPlateau follows torch.optim.lr_scheduler.ReduceLROnPlateau:
//
// Each `step(metric)` is one epoch:
//   better = metric < best * (1 - threshold)   (mode min, relative; max: metric > best * (1 + threshold);
//                                               absolute: best -/+ threshold); best starts at +-infinity
//   if better: best = metric, bad = 0  else: bad += 1
//   if cooling down: cooldownLeft -= 1, bad = 0
//   if bad > patience: lr = max(lr * factor, minLR) (only if that lowers it by more than eps),
//                      cooldownLeft = cooldown, bad = 0
// A NaN metric is never better, so it counts as a bad epoch. The state is Codable (JSON with a
// checkpoint) so a resumed run continues the same schedule.

/// Lowers the learning rate when a validation metric stops improving (PyTorch semantics).
public struct ReduceLROnPlateau: Sendable, Codable, Equatable {
    /// Whether lower (min) or higher (max) metric values are better.
    public enum Mode: String, Sendable, Codable {
        /// Lower is better (a loss).
        case min
        /// Higher is better (a Dice score).
        case max
    }
    /// Whether `threshold` is relative to the best value or an absolute margin.
    public enum ThresholdMode: String, Sendable, Codable {
        /// Better means beyond best * (1 -/+ threshold).
        case relative = "rel"
        /// Better means beyond best -/+ threshold.
        case absolute = "abs"
    }

    /// Whether lower or higher metrics are better.
    public let mode: Mode
    /// Multiplier applied to the learning rate on a plateau.
    public let factor: Double
    /// Bad epochs tolerated before lowering the rate.
    public let patience: Int
    /// Minimum improvement that counts as better.
    public let threshold: Double
    /// How `threshold` applies.
    public let thresholdMode: ThresholdMode
    /// Epochs after a reduction during which bad epochs are not counted.
    public let cooldown: Int
    /// The rate is never lowered below this.
    public let minLearningRate: Double
    /// Reductions smaller than this are skipped.
    public let eps: Double

    /// Best metric so far (nil before the first epoch).
    public private(set) var best: Double?
    /// Consecutive epochs without improvement.
    public private(set) var badEpochs = 0
    /// Epochs of cooldown left.
    public private(set) var cooldownLeft = 0
    /// Epochs seen.
    public private(set) var epoch = 0

    /// A schedule with PyTorch's defaults; throws for factor >= 1 or negative counts.
    public init(mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                thresholdMode: ThresholdMode = .relative, cooldown: Int = 0, minLearningRate: Double = 0,
                eps: Double = 1e-8) throws {
        try require(factor < 1 && factor >= 0, "factor", factor, "in [0, 1)")
        try require(patience >= 0, "patience", Double(patience), ">= 0")
        try require(cooldown >= 0, "cooldown", Double(cooldown), ">= 0")
        try require(minLearningRate >= 0, "minimum learning rate", minLearningRate, ">= 0")
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minLearningRate = minLearningRate
        self.eps = eps
    }

    /// Whether `metric` improves on the best value so far by the threshold.
    public func isBetter(_ metric: Double) -> Bool {
        let reference = best ?? (mode == .min ? .infinity : -.infinity)
        switch (mode, thresholdMode) {
        case (.min, .relative): return metric < reference * (1 - threshold)
        case (.min, .absolute): return metric < reference - threshold
        case (.max, .relative): return metric > reference * (1 + threshold)
        case (.max, .absolute): return metric > reference + threshold
        }
    }

    /// Records one epoch's metric and returns the learning rate to use from now on.
    public mutating func step(_ metric: Double, learningRate: Float) -> Float {
        epoch += 1
        if isBetter(metric) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            badEpochs = 0
        }
        guard badEpochs > patience else { return learningRate }
        cooldownLeft = cooldown
        badEpochs = 0
        let old = Double(learningRate)
        let new = max(old * factor, minLearningRate)
        return old - new > eps ? Float(new) : learningRate
    }

    /// Records one epoch's metric and updates `optimizer`'s learning rate; true when it was lowered.
    @discardableResult
    public mutating func step(_ metric: Double, optimizer: any Optimizer) -> Bool {
        let old = optimizer.learningRate
        optimizer.learningRate = step(metric, learningRate: old)
        return optimizer.learningRate < old
    }
}
