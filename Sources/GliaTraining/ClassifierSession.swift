// The classifier recipe: a ResNet backbone with the seed's head (AvgPool 4x4, Flatten, Dense 256 + ReLU,
// Dropout 0.3, Dense 2), softmax cross-entropy, Adam, ReduceLROnPlateau on the validation loss.
//
// Frozen backbone (the seed's transfer-learning strategy): the backbone runs in inference mode once per
// slice and its features are cached, so the first epoch pays for the backbone and every later epoch
// costs only the head. Augmentation is off in that mode: an augmented image would need new features.
import Foundation
import GliaCore
import GliaData

/// A classifier run's numbers: model, optimizer, schedule, data and the frozen-feature cache.
public final class ClassifierSession: RecipeSession {
    public let configuration: RunConfiguration
    public let data: TrainingData
    public private(set) var state: TrainingState
    private let loss = SoftmaxCrossEntropy()
    private var batches: BatchCursor
    /// Backbone features per slice id (frozen backbone only).
    private var featureCache: [String: Tensor] = [:]
    private var model: ClassifierModel { state.model as! ClassifierModel }

    /// The backbone presets by name.
    public static let backbones: [String: ResNetConfiguration] = [
        "resnet10": ResNetConfiguration(block: .basic, blocksPerStage: [1, 1, 1, 1]),
        "resnet18": .resnet18, "resnet34": .resnet34, "resnet50": .resnet50,
    ]

    /// A fresh session (optionally starting from torchvision backbone weights), or one continuing
    /// from a `last` checkpoint.
    public init(configuration c: RunConfiguration, data: TrainingData, resumeFrom checkpoint: SafeTensorsFile? = nil) throws {
        configuration = c
        self.data = data
        guard let backbone = Self.backbones[c.backbone] else {
            throw TrainingDataError("unknown backbone '\(c.backbone)' (choose one of \(Self.backbones.keys.sorted().joined(separator: ", ")))")
        }
        let model = try ClassifierModel(configuration: ClassifierConfiguration(backbone: backbone, imageSize: c.imageSize),
                                        seed: c.seed)
        if let weights = c.weightsPath, checkpoint == nil {
            try model.loadPretrainedBackbone(from: SafeTensorsFile(contentsOf: URL(fileURLWithPath: weights)))
        }
        model.freezeBackbone = c.freezeBackbone
        state = try .fresh(model: model, configuration: c, generators: ["dropout": model.head.dropoutGenerator])
        if let checkpoint {
            try TrainingCheckpoint.restore(&state, from: checkpoint)
            if let g = state.generators["dropout"] { model.head.dropoutGenerator = g }
        }
        batches = BatchCursor(loader: data.train)
    }

    public var progress: TrainingProgress { state.progress }
    public var stepsPerEpoch: Int { data.train.stepsPerEpoch(limit: configuration.maxStepsPerEpoch) }
    public var learningRate: Float { state.optimizer.learningRate }
    public var parametersAreFinite: Bool { state.model.parametersAreFinite }

    public func trainStep(epoch: Int, step: Int) throws -> StepResult {
        state.optimizer.zeroGradients(model.trainableParameters)
        let logits: Tensor, labels: [Int]
        if model.freezeBackbone {
            let members = data.train.plan(epoch: epoch)[step]
            labels = members.map { data.train.tumorFlags[$0] ? 1 : 0 }
            let features = try cachedFeatures(members, loader: data.train, epoch: epoch, index: step)
            logits = model.forwardHead(features, mode: .training)
        } else {
            let batch = data.resized(try batches.batch(epoch: epoch, index: step))
            labels = batch.labels
            logits = model.forward(batch.images, mode: .training)
        }
        let result = try loss.evaluate(logits: logits, labels: labels)
        if model.freezeBackbone { model.backwardHead(result.gradient) } else { model.backward(result.gradient) }
        state.optimizer.step(model.parameters)
        return StepResult(loss: result.value, metric: Float(Self.accuracy(logits: logits, labels: labels)),
                          images: labels.count)
    }

    public func validate() throws -> (loss: Float, metric: Float) {
        var lossSum = 0.0, correct = 0.0, count = 0
        let loader = data.validation
        for (index, members) in loader.plan(epoch: 0).enumerated() {
            let labels = members.map { loader.tumorFlags[$0] ? 1 : 0 }
            let logits: Tensor
            if model.freezeBackbone {
                logits = model.forwardHead(try cachedFeatures(members, loader: loader, epoch: 0, index: index),
                                           mode: .inference)
            } else {
                let batch = data.resized(try loader.makeBatch(epoch: 0, index: index, members: members))
                logits = model.forward(batch.images, mode: .inference)
            }
            lossSum += Double(try loss.evaluate(logits: logits, labels: labels).value) * Double(labels.count)
            correct += Self.accuracy(logits: logits, labels: labels) * Double(labels.count)
            count += labels.count
        }
        return (Float(lossSum / Double(max(count, 1))), Float(correct / Double(max(count, 1))))
    }

    /// Features [N, h, w, C] of `members`, computing (without augmentation) only the uncached ones.
    private func cachedFeatures(_ members: [Int], loader: Loader, epoch: Int, index: Int) throws -> Tensor {
        let missing = members.filter { featureCache[loader.records[$0].id] == nil }
        if !missing.isEmpty {
            let batch = data.resized(try loader.makeBatch(epoch: epoch, index: index, members: missing))
            let features = model.features(batch.images)
            let per = features.count / missing.count
            let shape = Array(features.shape.dropFirst())
            for (k, member) in missing.enumerated() {
                featureCache[loader.records[member].id] =
                    Tensor(shape: shape, scalars: Array(features.scalars[(k * per)..<((k + 1) * per)]))
            }
        }
        let parts = members.map { featureCache[loader.records[$0].id]! }
        return Tensor(shape: [members.count] + parts[0].shape, scalars: parts.flatMap(\.scalars))
    }

    /// Fraction of rows whose arg-max logit is the label.
    static func accuracy(logits: Tensor, labels: [Int]) -> Double {
        let k = logits.shape[1]
        var correct = 0
        for (i, label) in labels.enumerated() {
            let row = logits.scalars[(i * k)..<((i + 1) * k)]
            if row.indices.max(by: { row[$0] < row[$1] })! - i * k == label { correct += 1 }
        }
        return Double(correct) / Double(max(labels.count, 1))
    }

    public func endEpoch(validationLoss: Float) {
        _ = state.schedule.step(Double(validationLoss), optimizer: state.optimizer)
    }

    public func saveCheckpoint(to url: URL, progress: TrainingProgress) throws {
        state.progress = progress
        state.generators["dropout"] = model.head.dropoutGenerator
        try TrainingCheckpoint.save(state, configuration: configuration, to: url)
    }
}
