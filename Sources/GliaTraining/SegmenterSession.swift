// The segmenter recipe: ResUNet, the configured loss, Adam with a cosine or plateau schedule; all
// slices, with tumor slices oversampled to `tumorFraction` of each batch.
// Validation metric: per-volume Dice (mean over validation patients), as Buda et al. report it; it
// also picks the `best` checkpoint, since the loss of a batch says little about whole volumes.
import Foundation
import GliaCore
import GliaData

/// A segmenter run's numbers: model, optimizer, schedule and data.
public final class SegmenterSession: RecipeSession {
    public let configuration: RunConfiguration
    public let data: TrainingData
    public private(set) var state: TrainingState
    private let loss: any ProbabilityLoss
    private let cosine: CosineAnnealing?
    private var batches: BatchCursor

    /// A fresh session, or one continuing from a `last` checkpoint.
    public init(configuration: RunConfiguration, data: TrainingData, resumeFrom checkpoint: SafeTensorsFile? = nil) throws {
        self.configuration = configuration
        self.data = data
        let model = try ResUNet(configuration: .standard, seed: configuration.seed)
        state = try .fresh(model: model, configuration: configuration)
        loss = Self.loss(configuration.loss)
        batches = BatchCursor(loader: data.train)
        let steps = data.train.stepsPerEpoch(limit: configuration.maxStepsPerEpoch)
        cosine = configuration.schedule == .cosine
            ? CosineAnnealing(initial: configuration.learningRate, minimum: configuration.learningRate / 100,
                              totalSteps: configuration.epochs * steps)
            : nil
        if let checkpoint { try TrainingCheckpoint.restore(&state, from: checkpoint) }
    }

    static func loss(_ kind: SegmentationLossKind) -> any ProbabilityLoss {
        switch kind {
        case .focalTversky: return FocalTverskyLoss()
        case .dice: return DiceLoss()
        case .diceBCE: return DiceBCELoss()
        }
    }

    public var selection: CheckpointSelection { .highestMetric }

    public var progress: TrainingProgress { state.progress }
    public var stepsPerEpoch: Int { data.train.stepsPerEpoch(limit: configuration.maxStepsPerEpoch) }
    public var learningRate: Float { state.optimizer.learningRate }
    public var parametersAreFinite: Bool { state.model.parametersAreFinite }

    public func trainStep(epoch: Int, step: Int) throws -> StepResult {
        let batch = data.resized(try batches.batch(epoch: epoch, index: step))
        let model = state.model
        if let cosine {
            state.optimizer.learningRate = cosine.learningRate(atStep: (epoch - 1) * stepsPerEpoch + step)
        }
        state.optimizer.zeroGradients(model.trainableParameters)
        let p = model.forward(batch.images, mode: .training)
        let result = try loss.evaluate(probabilities: p, targets: batch.masks)
        model.backward(result.gradient)
        state.optimizer.step(model.parameters)
        state.average?.update(from: model)
        let dice = try MaskOverlap(probabilities: p, truth: batch.masks).dice
        return StepResult(loss: result.value, metric: Float(dice), images: batch.labels.count)
    }

    /// Validates the averaged weights when the run averages them (and the trained ones beside, so
    /// that every epoch shows what averaging gives), else the trained weights.
    public func validate() throws -> ValidationResult {
        guard let average = state.average else {
            let (loss, metric) = try validateModel()
            return ValidationResult(loss: loss, metric: metric)
        }
        let trained = try validateModel()
        let (loss, metric) = try average.withAveragedWeights(in: state.model) { try validateModel() }
        return ValidationResult(loss: loss, metric: metric, unaveragedMetric: trained.metric)
    }

    private func validateModel() throws -> (loss: Float, metric: Float) {
        var lossSum = 0.0, count = 0
        var volumes = VolumeDiceAccumulator()
        let epoch = data.validation.batches(epoch: 0)
        while let raw = try epoch.next() {
            let batch = data.resized(raw)
            let p = state.model.forward(batch.images, mode: .inference)
            lossSum += Double(try loss.evaluate(probabilities: p, targets: batch.masks).value) * Double(batch.labels.count)
            count += batch.labels.count
            let side = p.shape[1] * p.shape[2]
            for (i, slice) in batch.slices.enumerated() {
                let range = (i * side)..<((i + 1) * side)
                let predicted = p.scalars[range].map { $0 > 0.5 ? UInt8(1) : 0 }
                let truth = batch.masks.scalars[range].map { $0 > 0.5 ? UInt8(1) : 0 }
                try volumes.add(patient: slice.patientID, predicted: predicted, truth: truth)
            }
        }
        return (Float(lossSum / Double(max(count, 1))), Float(volumes.summary?.mean ?? 0))
    }

    public func endEpoch(validationLoss: Float) {
        guard cosine == nil else { return }
        _ = state.schedule.step(Double(validationLoss), optimizer: state.optimizer)
    }

    public func saveCheckpoint(to url: URL, progress: TrainingProgress) throws {
        state.progress = progress
        try TrainingCheckpoint.save(state, configuration: configuration, to: url)
    }
}

/// Hands out training batches in order from a background-prefetching epoch, restarting the
/// prefetch when asked for a batch out of sequence (a resumed run, a new epoch).
final class BatchCursor {
    private let loader: Loader
    private var epoch: LoaderEpoch?
    private var nextIndex = 0

    init(loader: Loader) { self.loader = loader }

    func batch(epoch number: Int, index: Int) throws -> Batch {
        if epoch?.epoch != number || nextIndex != index {
            epoch?.cancel()
            epoch = loader.batches(epoch: number, startingAt: index)
            nextIndex = index
        }
        guard let batch = try epoch?.next() else {
            throw TrainingDataError("epoch \(number) has no batch \(index + 1)")
        }
        nextIndex += 1
        return batch
    }

    deinit { epoch?.cancel() }
}

extension Loader {
    /// Batches per epoch, capped at `limit` when it is positive.
    func stepsPerEpoch(limit: Int) -> Int { limit > 0 ? min(batchCount, limit) : batchCount }
}
