// The training actor: runs a recipe session off the main thread and publishes its events, in order,
// to any number of subscribers (CLI progress line, dashboard, run store).
//
// Control (pause, resume, stop) goes through a lock-protected flag that the loop reads between steps,
// so a caller is never blocked by a running step and a stop takes effect after the current step.
// Checkpoints: `last` at the end of every epoch and when stopped; `best` when the validation loss
// improves. A non-finite loss fails the run before anything is saved.
import Foundation
import GliaData
import Synchronization

/// Why a run could not go on.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFiniteLoss(epoch: Int, step: Int, value: Float)
    case nonFiniteParameters(epoch: Int)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let e, let s, let v):
            return "training loss is \(v) at epoch \(e), step \(s); stopped without saving a checkpoint"
        case .nonFiniteParameters(let e):
            return "model parameters are not finite at epoch \(e); stopped without saving a checkpoint"
        }
    }
}

/// Runs one training run and broadcasts its events.
public actor TrainingActor {
    private enum Control { case run, pause, stop }

    public nonisolated let runID: String
    public nonisolated let configuration: RunConfiguration
    /// Where `best.safetensors` and `last.safetensors` go.
    public nonisolated let folder: URL
    private let session: any RecipeSession
    private var progress: TrainingProgress
    /// Slices the run's data leaves out, announced after `runStarted`.
    private let skipped: [DataProblem]
    private var subscribers: [AsyncStream<TrainingEvent>.Continuation] = []
    private var history: [TrainingEvent] = []
    private nonisolated let control = Mutex(Control.run)

    /// A run over `session`, starting from `progress` (fresh or read from a `last` checkpoint);
    /// `skipped`: slices its data leaves out, each announced as a `sliceSkipped` event.
    public init(runID: String, configuration: RunConfiguration, folder: URL,
                session: sending any RecipeSession, progress: TrainingProgress = TrainingProgress(),
                skipped: [DataProblem] = []) {
        self.skipped = skipped
        self.runID = runID
        self.configuration = configuration
        self.folder = folder
        self.session = session
        self.progress = progress
    }

    /// A stream of every event from now on; a subscriber joining late first receives the events it
    /// missed, so every subscriber sees the whole run in order.
    public func subscribe() -> AsyncStream<TrainingEvent> {
        let (stream, continuation) = AsyncStream<TrainingEvent>.makeStream(bufferingPolicy: .unbounded)
        for event in history { continuation.yield(event) }
        if history.last?.isTerminal == true {
            continuation.finish()
        } else {
            subscribers.append(continuation)
        }
        return stream
    }

    /// Pauses after the current step.
    public nonisolated func pause() { control.withLock { if $0 == .run { $0 = .pause } } }
    /// Continues a paused run.
    public nonisolated func resume() { control.withLock { if $0 == .pause { $0 = .run } } }
    /// Stops after the current step and saves `last`.
    public nonisolated func stop() { control.withLock { $0 = .stop } }

    private func publish(_ event: TrainingEvent) {
        history.append(event)
        for c in subscribers { c.yield(event) }
        if event.isTerminal {
            for c in subscribers { c.finish() }
            subscribers.removeAll()
        }
    }

    /// Runs to the end (all epochs, early stop, stop request or failure) and returns the final status.
    @discardableResult
    public func run() async -> RunStatus {
        publish(.runStarted(runID: runID, configuration: configuration))
        for problem in skipped { publish(.sliceSkipped(path: problem.path, reason: problem.detail)) }
        do {
            let status = try await loop()
            publish(.finished(status: status, bestEpoch: progress.bestEpoch,
                              bestValidationLoss: progress.bestValidationLoss))
            return status
        } catch {
            publish(.failed(message: "\(error)"))
            return .failed
        }
    }

    private func loop() async throws -> RunStatus {
        let steps = session.stepsPerEpoch
        while progress.epoch <= configuration.epochs {
            var epochStart = Date()
            while progress.stepInEpoch < steps {
                let (control, paused) = try await waitWhilePaused()
                // An epoch's time is training time: a pause does not count.
                epochStart += paused
                if control == .stop {
                    try saveCheckpoint(.last, epoch: progress.epoch)
                    return .stopped
                }
                try runStep(steps: steps)
                await Task.yield()
            }
            if try finishEpoch(started: epochStart) { return .earlyStopped }
        }
        return .finished
    }

    /// Blocks (without holding a thread) while paused; returns the control state to act on and the
    /// seconds spent paused.
    private func waitWhilePaused() async throws -> (Control, TimeInterval) {
        var announced = false
        let started = Date()
        while true {
            let state = control.withLock { $0 }
            if state != .pause {
                if announced { publish(.resumed) }
                return (state, announced ? Date().timeIntervalSince(started) : 0)
            }
            if !announced {
                publish(.paused)
                announced = true
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    private func runStep(steps: Int) throws {
        let started = Date()
        let result = try session.trainStep(epoch: progress.epoch, step: progress.stepInEpoch)
        guard result.loss.isFinite else {
            throw TrainingError.nonFiniteLoss(epoch: progress.epoch, step: progress.stepInEpoch + 1,
                                              value: result.loss)
        }
        progress.stepInEpoch += 1
        progress.globalStep += 1
        progress.epochLossSum += Double(result.loss)
        progress.epochMetricSum += Double(result.metric)
        let seconds = max(Date().timeIntervalSince(started), 1e-9)
        publish(.step(StepMetrics(
            epoch: progress.epoch, step: progress.stepInEpoch, stepsPerEpoch: steps,
            globalStep: progress.globalStep, loss: result.loss, metric: result.metric,
            imagesPerSecond: Double(result.images) / seconds, learningRate: session.learningRate)))
    }

    /// Validates, schedules, checkpoints; returns true when early stopping ends the run.
    private func finishEpoch(started: Date) throws -> Bool {
        let steps = max(progress.stepInEpoch, 1)
        let learningRate = session.learningRate
        let validation = try session.validate()
        let (validationLoss, validationMetric) = (validation.loss, validation.metric)
        guard validationLoss.isFinite else {
            throw TrainingError.nonFiniteLoss(epoch: progress.epoch, step: progress.stepInEpoch,
                                              value: validationLoss)
        }
        let isBest: Bool
        switch session.selection {
        case .lowestLoss: isBest = progress.bestValidationLoss.map { validationLoss < $0 } ?? true
        case .highestMetric: isBest = progress.bestValidationMetric.map { validationMetric > $0 } ?? true
        }
        let epoch = progress.epoch
        if isBest {
            progress.bestValidationLoss = validationLoss
            progress.bestValidationMetric = validationMetric
            progress.bestEpoch = epoch
            progress.epochsWithoutImprovement = 0
        } else {
            progress.epochsWithoutImprovement += 1
        }
        session.endEpoch(validationLoss: validationLoss)
        publish(.epoch(EpochMetrics(
            epoch: epoch, trainLoss: Float(progress.epochLossSum / Double(steps)),
            trainMetric: Float(progress.epochMetricSum / Double(steps)),
            validationLoss: validationLoss, validationMetric: validationMetric,
            learningRate: learningRate, seconds: Date().timeIntervalSince(started), isBest: isBest,
            unaveragedValidationMetric: validation.unaveragedMetric)))
        progress.epoch += 1
        progress.stepInEpoch = 0
        progress.epochLossSum = 0
        progress.epochMetricSum = 0
        if isBest { try saveCheckpoint(.best, epoch: epoch) }
        try saveCheckpoint(.last, epoch: epoch)
        if progress.epochsWithoutImprovement >= configuration.patience && progress.epoch <= configuration.epochs {
            publish(.earlyStopped(epoch: epoch, bestEpoch: progress.bestEpoch ?? epoch))
            return true
        }
        return false
    }

    private func saveCheckpoint(_ kind: CheckpointKind, epoch: Int) throws {
        guard session.parametersAreFinite else {
            throw TrainingError.nonFiniteParameters(epoch: progress.epoch)
        }
        let url = folder.appendingPathComponent("\(kind.rawValue).safetensors")
        try session.saveCheckpoint(to: url, progress: progress)
        publish(.checkpointSaved(kind: kind, path: url.path, epoch: epoch))
    }
}
