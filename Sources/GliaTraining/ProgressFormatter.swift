// Text for following a run: the live progress line (terminal) and log lines (files, pipes).
// Pure formatting; the caller decides where text goes.
import Foundation

/// Turns training events into human-readable progress text.
public struct ProgressFormatter: Sendable {
    /// Name of the recipe's metric ("acc" or "dice").
    public let metricName: String
    /// Epochs the run is configured for.
    public let epochs: Int
    private var stepSecondsEMA: Double?
    private var lastStepTime: Date?

    public init(recipe: RecipeKind, epochs: Int) {
        metricName = recipe == .classifier ? "acc" : "dice"
        self.epochs = epochs
    }

    /// The one-line status after a step: epoch, step/total, loss, metric, images/s, ETA of the run.
    /// `now` is when the event arrived (used for the ETA's step time).
    public mutating func progressLine(for s: StepMetrics, now: Date = Date()) -> String {
        if let last = lastStepTime {
            let dt = now.timeIntervalSince(last)
            stepSecondsEMA = stepSecondsEMA.map { 0.8 * $0 + 0.2 * dt } ?? dt
        }
        lastStepTime = now
        let remainingSteps = (epochs - s.epoch) * s.stepsPerEpoch + (s.stepsPerEpoch - s.step)
        let eta = stepSecondsEMA.map { Self.duration(Double(remainingSteps) * $0) } ?? "--"
        return String(format: "epoch %d/%d  step %d/%d  loss %.4f  %@ %.3f  %.1f img/s  ETA %@",
                      s.epoch, epochs, s.step, s.stepsPerEpoch, s.loss, metricName, s.metric,
                      s.imagesPerSecond, eta)
    }

    /// A log line for an event, or nil for events that only feed the live line.
    public func logLine(for event: TrainingEvent) -> String? {
        switch event {
        case .runStarted(let id, let c):
            return "run \(id): \(c.recipe.rawValue), \(c.epochs) epochs, batch \(c.batchSize), lr \(c.learningRate), seed \(c.seed)"
        case .sliceSkipped(let path, let reason):
            return "skipped slice \(path): \(reason)"
        case .step:
            return nil
        case .epoch(let e):
            let unaveraged = e.unaveragedValidationMetric.map { String(format: " (unaveraged %.3f)", $0) } ?? ""
            return String(format: "epoch %d/%d  train loss %.4f %@ %.3f  val loss %.4f %@ %.3f%@  lr %.2g  %@%@",
                          e.epoch, epochs, e.trainLoss, metricName, e.trainMetric, e.validationLoss, metricName,
                          e.validationMetric, unaveraged, e.learningRate, Self.duration(e.seconds),
                          e.isBest ? "  (best)" : "")
        case .checkpointSaved(let kind, let path, let epoch):
            return "saved \(kind.rawValue) checkpoint (epoch \(epoch)): \(path)"
        case .paused: return "paused"
        case .resumed: return "resumed"
        case .earlyStopped(let epoch, let best):
            return "early stop after epoch \(epoch): no validation improvement since epoch \(best)"
        case .finished(let status, let best, let loss):
            let bestText = best.map { b in ", best epoch \(b)" + (loss.map { String(format: " (val loss %.4f)", $0) } ?? "") } ?? ""
            // A run that ran to the end says so once ("finished: finished" said it twice).
            return (status == .finished ? "finished" : "finished: \(status.rawValue)") + bestText
        case .failed(let message):
            return "failed: \(message)"
        }
    }

    /// "42s", "3m05s", "1h02m".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}
