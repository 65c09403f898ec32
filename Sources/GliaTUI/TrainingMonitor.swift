// The dashboard's view of a training run: a snapshot of everything drawn (curves, progress, log),
// fed either live from a `TrainingActor` subscription or once from the run store's history.
//
// Threads: the training actor runs on the cooperative pool; a detached task consumes its events and
// folds them into the snapshot under a lock. The workstation's loop (main thread) only copies the
// snapshot when `version` moved, so drawing never waits on training and training never waits on
// drawing. Pause, resume and stop go to the actor's nonisolated controls, which never block.
import Foundation
import GliaTraining
import Synchronization

/// Everything the dashboard shows about one run.
public struct TrainingSnapshot: Sendable {
    /// Run id, once the run exists.
    public var runID: String?
    /// The run's settings, once known.
    public var configuration: RunConfiguration?
    /// "preparing", "running", "paused", "finished", "stopped", "early-stopped" or "failed".
    public var phase: String
    /// Every step so far, in order.
    public var steps: [StepMetrics] = []
    /// Every finished epoch, in order.
    public var epochs: [EpochMetrics] = []
    /// Readable event lines, oldest first (at most `logLimit`).
    public var log: [String] = []
    /// Seconds per step (exponential moving average over unpaused steps), for the ETA.
    public var secondsPerStep: Double?
    /// True once the run ended and its whole history is in the run store (lists may be re-read).
    public var historyComplete = false
    /// Bumped by every change; the UI redraws when it moved.
    public var version = 0
    private var lastStepTime: Date?
    /// Lines kept in `log`.
    public static let logLimit = 200

    /// An empty snapshot in `phase`.
    public init(phase: String) {
        self.phase = phase
    }

    /// A finished run read back from the run store. Steps per epoch are taken as the most steps any
    /// epoch has.
    public init(run: RunSummary, steps: [StepRow], epochs: [EpochRow]) {
        phase = run.status
        runID = run.id
        configuration = try? run.decodedConfiguration()
        var perEpoch: [Int: Int] = [:]
        for s in steps { perEpoch[s.epoch, default: 0] += 1 }
        let stepsPerEpoch = max(1, perEpoch.values.max() ?? 1)
        self.steps = steps.map { s in
            StepMetrics(epoch: s.epoch, step: s.globalStep - (s.epoch - 1) * stepsPerEpoch, stepsPerEpoch: stepsPerEpoch,
                        globalStep: s.globalStep, loss: Float(s.loss), metric: Float(s.metric),
                        imagesPerSecond: s.imagesPerSecond, learningRate: Float(s.learningRate))
        }
        self.epochs = epochs.map { e in
            EpochMetrics(epoch: e.epoch, trainLoss: Float(e.trainLoss), trainMetric: Float(e.trainMetric),
                         validationLoss: Float(e.validationLoss), validationMetric: Float(e.validationMetric),
                         learningRate: Float(e.learningRate), seconds: e.seconds, isBest: e.isBest)
        }
        log = ["opened from the run store: \(run.id), \(run.status), \(epochs.count) epoch(s), \(steps.count) step(s)"]
        if let message = run.message { log.append("failed: \(message)") }
    }

    /// The epoch with the lowest validation loss so far.
    public var bestEpoch: EpochMetrics? { epochs.min { $0.validationLoss < $1.validationLoss } }

    /// True while the run can still change (preparing, running or paused).
    public var isLive: Bool { ["preparing", "running", "paused"].contains(phase) }

    /// Fraction of the run's steps done, 0...1.
    public var fractionDone: Double {
        guard let c = configuration, let last = steps.last, c.epochs > 0 else { return phase == "finished" ? 1 : 0 }
        let total = Double(c.epochs * last.stepsPerEpoch)
        return min(1, Double(last.globalStep) / max(1, total))
    }

    /// Seconds left at the current pace, nil before two steps.
    public var secondsLeft: Double? {
        guard let c = configuration, let last = steps.last, let secondsPerStep else { return nil }
        let remaining = (c.epochs - last.epoch) * last.stepsPerEpoch + (last.stepsPerEpoch - last.step)
        return Double(max(0, remaining)) * secondsPerStep
    }

    /// Folds one event in; `now` is when it arrived (for the step pace).
    public mutating func apply(_ event: TrainingEvent, now: Date = Date()) {
        version += 1
        switch event {
        case .runStarted(let id, let c):
            runID = id
            configuration = c
            phase = "running"
        case .step(let s):
            if let last = lastStepTime {
                let dt = now.timeIntervalSince(last)
                secondsPerStep = secondsPerStep.map { 0.8 * $0 + 0.2 * dt } ?? dt
            }
            lastStepTime = now
            steps.append(s)
        case .epoch(let e):
            epochs.append(e)
            // Validation time is not step time.
            lastStepTime = nil
        case .paused:
            phase = "paused"
            lastStepTime = nil
        case .resumed:
            phase = "running"
        case .finished(let status, _, _):
            phase = status.rawValue
        case .failed:
            phase = "failed"
        case .checkpointSaved, .earlyStopped, .sliceSkipped:
            break
        }
        if let line = formatter.logLine(for: event) { appendLog(line) }
    }

    /// Adds a line to the log, dropping the oldest past `logLimit`.
    public mutating func appendLog(_ line: String) {
        log.append(line)
        if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit) }
        version += 1
    }

    private var formatter: ProgressFormatter {
        ProgressFormatter(recipe: configuration?.recipe ?? .segmenter, epochs: configuration?.epochs ?? 0)
    }
}

/// A live run launched from the workstation: prepares and trains in the background and keeps a
/// `TrainingSnapshot` current.
public final class TrainingMonitor: Sendable {
    private let state: Mutex<TrainingSnapshot>
    private let actor = Mutex<TrainingActor?>(nil)
    private let stopRequested = Mutex(false)

    private init(recipe: RecipeKind) {
        var snapshot = TrainingSnapshot(phase: "preparing")
        snapshot.appendLog("preparing a \(recipe.rawValue) run (indexing data, building the model)")
        state = Mutex(snapshot)
    }

    /// Starts a run in the background: creates it in `store`, prepares it, trains it. Returns at once.
    public static func launch(_ configuration: RunConfiguration, store: RunStore) -> TrainingMonitor {
        let monitor = TrainingMonitor(recipe: configuration.recipe)
        Task.detached(priority: .utility) {
            let run: TrainingRun
            do {
                run = try TrainingRun.start(configuration, store: store)
            } catch {
                monitor.state.withLock {
                    $0.phase = "failed"
                    $0.historyComplete = true
                    $0.appendLog("cannot start: \(error)")
                }
                return
            }
            monitor.actor.withLock { $0 = run.actor }
            if monitor.stopRequested.withLock({ $0 }) { run.actor.stop() }
            let events = await run.actor.subscribe()
            let consumer = Task.detached {
                for await event in events {
                    let now = Date()
                    monitor.state.withLock { $0.apply(event, now: now) }
                }
            }
            await run.actor.run()
            await consumer.value
            await run.recording.value
            monitor.state.withLock {
                $0.historyComplete = true
                $0.version += 1
            }
        }
        return monitor
    }

    /// A copy of the current state.
    public var snapshot: TrainingSnapshot { state.withLock { $0 } }
    /// Changes whenever the snapshot does.
    public var version: Int { state.withLock { $0.version } }

    /// Pauses after the current step.
    public func pause() { actor.withLock { $0 }?.pause() }
    /// Continues a paused run.
    public func resume() { actor.withLock { $0 }?.resume() }
    /// Stops after the current step (or before the first, while preparing) and saves `last`.
    public func stop() {
        stopRequested.withLock { $0 = true }
        actor.withLock { $0 }?.stop()
    }
}
