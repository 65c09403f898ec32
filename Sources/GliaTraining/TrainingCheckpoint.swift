// A training checkpoint: the model (PyTorch names and layouts, so `best` loads anywhere a state_dict
// would) plus everything a resumed run needs to continue exactly where it stopped.
//
// safetensors metadata keys
//   glia.model      model configuration JSON (rebuilds the model from the file alone)
//   glia.run        RunConfiguration JSON
//   glia.progress   TrainingProgress JSON (epoch, step, best so far, epoch sums)
//   glia.schedule   ReduceLROnPlateau JSON
//   glia.random     named RandomGenerator states JSON (dropout)
// Extra tensors: optimizer state under "optimizer.<param>.exp_avg" etc.; with weight averaging the
// model tensors are the averaged weights (what `best` is used as) and the trained ones are kept under
// "trained.<name>" (Glia layout) for a resume.
import Foundation
import GliaCore

/// The optimisation state saved next to the model.
public struct TrainingState {
    public var model: any Model
    public var optimizer: any Optimizer
    public var schedule: ReduceLROnPlateau
    public var progress: TrainingProgress
    /// Named random streams whose position matters for an exact resume.
    public var generators: [String: RandomGenerator]
    /// The moving average of the weights, when the run averages them.
    public var average: WeightAverage?

    /// The recipes' optimisation for `model`: Adam at the run's learning rate and weight decay, and
    /// ReduceLROnPlateau on the validation loss (factor 0.1, patience 2), from the first step.
    public static func fresh(model: any Model, configuration c: RunConfiguration,
                             generators: [String: RandomGenerator] = [:]) throws -> TrainingState {
        TrainingState(model: model,
                      optimizer: try Adam(learningRate: c.learningRate, weightDecay: Double(c.weightDecay)),
                      schedule: try ReduceLROnPlateau(factor: 0.1, patience: 2, minLearningRate: 1e-6),
                      progress: TrainingProgress(), generators: generators,
                      average: c.weightAverage > 0 ? WeightAverage(of: model, decay: c.weightAverage) : nil)
    }
}

/// Saving and restoring training checkpoints.
public enum TrainingCheckpoint {
    static let runKey = "glia.run", progressKey = "glia.progress", scheduleKey = "glia.schedule",
               randomKey = "glia.random", optimizerPrefix = "optimizer.", trainedPrefix = "trained."

    /// Writes model, optimizer, schedule, random streams and progress to `url` atomically.
    /// `metadata` adds entries of the recipe's own (a classifier's chosen thresholds).
    public static func save(_ state: TrainingState, configuration: RunConfiguration, to url: URL,
                            metadata extra: [String: String] = [:]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        var metadata = extra
        metadata[runKey] = try json(configuration)
        metadata[progressKey] = try json(state.progress)
        metadata[scheduleKey] = try json(state.schedule)
        metadata[randomKey] = try json(state.generators)
        var extra: [String: Tensor] = [:]
        for (name, tensor) in state.optimizer.stateTensors(for: state.model.parameters) {
            extra[optimizerPrefix + name] = tensor
        }
        guard let average = state.average else {
            try Checkpoint.saveModel(state.model, to: url, metadata: metadata, extraTensors: extra)
            return
        }
        for p in state.model.parameters { extra[trainedPrefix + p.name] = p.value }
        for b in state.model.buffers { extra[trainedPrefix + b.name] = b.value }
        try average.withAveragedWeights(in: state.model) {
            try Checkpoint.saveModel(state.model, to: url, metadata: metadata, extraTensors: extra)
        }
    }

    /// The run configuration stored in a checkpoint's metadata (`path` names the file in errors).
    public static func runConfiguration(metadata: [String: String], path: String) throws -> RunConfiguration {
        try decode(RunConfiguration.self, key: runKey, metadata: metadata, path: path)
    }

    /// Restores optimizer, schedule, random streams and progress into `state` (whose model already
    /// holds the checkpoint's weights, see `loadModel`).
    public static func restore(_ state: inout TrainingState, from file: SafeTensorsFile) throws {
        let loaded = try Checkpoint.load(into: state.model, from: file)
        var optimizerState: [String: Tensor] = [:]
        for (name, tensor) in loaded.extraTensors where name.hasPrefix(optimizerPrefix) {
            optimizerState[String(name.dropFirst(optimizerPrefix.count))] = tensor
        }
        try state.optimizer.loadState(optimizerState, for: state.model.parameters)
        state.schedule = try decode(ReduceLROnPlateau.self, key: scheduleKey, metadata: file.metadata, path: file.path)
        state.progress = try decode(TrainingProgress.self, key: progressKey, metadata: file.metadata, path: file.path)
        state.generators = try decode([String: RandomGenerator].self, key: randomKey, metadata: file.metadata,
                                      path: file.path)
        if let average = state.average {
            try restoreTrainedWeights(state, average: average, from: loaded, steps: state.progress.globalStep, path: file.path)
        }
    }

    /// The model holds the file's (averaged) weights: they become the average, and the trained
    /// weights come back from their "trained." copies.
    private static func restoreTrainedWeights(_ state: TrainingState, average: WeightAverage,
                                              from loaded: LoadedCheckpoint, steps: Int, path: String) throws {
        let slots = state.model.parameters.map { ($0.name, $0.value.shape) } + state.model.buffers.map { ($0.name, $0.value.shape) }
        var trained: [Tensor] = []
        for (name, shape) in slots {
            guard let tensor = loaded.extraTensors[trainedPrefix + name], tensor.shape == shape, tensor.isFinite else {
                throw TrainingDataError("\(path): the run averages weights, but the trained weights '\(trainedPrefix + name)' are missing, misshapen or not finite")
            }
            trained.append(tensor)
        }
        try average.restore(values: state.model.parameters.map(\.value) + state.model.buffers.map(\.value),
                            steps: steps)
        let parameters = state.model.parameters
        for (i, p) in parameters.enumerated() { p.value = trained[i] }
        for (i, b) in state.model.buffers.enumerated() { b.value = trained[parameters.count + i] }
    }

    private static func decode<T: Decodable>(_ type: T.Type, key: String, metadata: [String: String],
                                             path: String) throws -> T {
        guard let text = metadata[key] else {
            throw TrainingDataError("\(path): not a training checkpoint (no '\(key)' in its metadata)")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw TrainingDataError("\(path): metadata '\(key)' is malformed (\(error.localizedDescription))")
        }
    }
}

extension Layer {
    /// True when no parameter holds a NaN or infinity.
    public var parametersAreFinite: Bool { parameters.allSatisfy { $0.value.isFinite } }
}
