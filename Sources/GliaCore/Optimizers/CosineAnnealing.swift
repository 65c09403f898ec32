// Cosine annealing of the learning rate over a fixed number of steps (torch's CosineAnnealingLR,
// applied per step rather than per epoch):
//   lr(t) = lr_min + (lr_0 - lr_min) * (1 + cos(pi * t / T)) / 2,   t = 0 ... T (clamped)
// It is a pure function of the step, so a resumed run needs no saved state to continue it.
import Foundation

/// A learning rate that falls along half a cosine from `initial` to `minimum` over `totalSteps`.
public struct CosineAnnealing: Sendable, Equatable {
    /// Rate at step 0.
    public let initial: Float
    /// Rate at step `totalSteps` and after.
    public let minimum: Float
    /// Steps over which the rate falls.
    public let totalSteps: Int

    /// A schedule from `initial` to `minimum`; `totalSteps` below 1 counts as 1.
    public init(initial: Float, minimum: Float, totalSteps: Int) {
        self.initial = initial
        self.minimum = minimum
        self.totalSteps = max(1, totalSteps)
    }

    /// The rate for 0-based step `step` of the run.
    public func learningRate(atStep step: Int) -> Float {
        let t = Double(min(max(step, 0), totalSteps)) / Double(totalSteps)
        return minimum + (initial - minimum) * Float((1 + cos(Double.pi * t)) / 2)
    }
}
