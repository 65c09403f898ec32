// The classifier recipe: a ResNet backbone with the seed's head (AvgPool 4x4, Flatten, Dense 256 + ReLU,
// Dropout 0.3, Dense 2), or a MaskGate on a trained segmenter (backbone "segmenter"); softmax
// cross-entropy, Adam, ReduceLROnPlateau on the validation loss.
//
// Frozen features (a frozen ResNet backbone, the seed's transfer-learning strategy, and always the
// MaskGate's segmenter): the frozen part runs in inference mode once per slice and its features are
// cached, so the first epoch pays for it and every later epoch costs only the head. Augmentation is
// off in that mode: an augmented image would need new features. The MaskGate's cache is its mask
// evidence per patient and slice number, computed for a whole part at once, since a slice's gate
// input reads its neighbours' evidence too.
//
// Every validation also chooses the thresholds stored with the checkpoint (Thresholds.swift): the
// decision threshold on the validation slices, and, when a segmenter is at hand (the MaskGate's own,
// or `segmenterPath`), the pipeline's gate threshold on the validation patients' per-volume Dice.
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
    /// Frozen-backbone features per slice id.
    private var featureCache: [String: Tensor] = [:]
    /// MaskGate: mask evidence by patient, then slice number.
    private var evidence: [String: [Int: MaskEvidence]] = [:]
    private let network: SliceClassifierNetwork
    /// The segmenter that scores gate thresholds, when there is one.
    private let gateSegmenter: TrainedModel?
    /// Overlap of the gate segmenter's masks with the truth per validation slice (computed once).
    private var validationOverlaps: [SliceOverlap]?
    /// Thresholds chosen by the latest validation, saved with the next checkpoint.
    private var thresholds: [String: String] = [:]

    /// The backbone presets by name.
    public static let backbones: [String: ResNetConfiguration] = [
        "resnet10": ResNetConfiguration(block: .basic, blocksPerStage: [1, 1, 1, 1]),
        "resnet18": .resnet18, "resnet34": .resnet34, "resnet50": .resnet50,
    ]

    /// A fresh session (optionally starting from torchvision backbone weights, or gating a trained
    /// segmenter), or one continuing from a `last` checkpoint.
    public init(configuration c: RunConfiguration, data: TrainingData, resumeFrom checkpoint: SafeTensorsFile? = nil) throws {
        configuration = c
        self.data = data
        let model: any Model
        if c.backbone == Self.segmenterBackbone {
            guard let path = c.segmenterPath else {
                throw TrainingDataError("the 'segmenter' backbone needs a trained segmenter (--segmenter RUN or FILE)")
            }
            let trained = try TrainedModel.load(path, store: nil)
            guard let resunet = trained.model as? ResUNet else { throw TrainingDataError("\(path) is not a segmenter checkpoint") }
            guard trained.imageSize == c.imageSize else {
                throw TrainingDataError("\(path) was trained at \(trained.imageSize) px; the gate must run at the same size, not \(c.imageSize)")
            }
            let gate = try MaskGate(configuration: MaskGateConfiguration(segmenter: resunet.resUNetConfiguration,
                                                                    neighbourReach: c.neighbourReach), seed: c.seed)
            for (target, source) in zip(gate.segmenter.parameters, resunet.parameters) { target.value = source.value }
            for (target, source) in zip(gate.segmenter.buffers, resunet.buffers) { target.value = source.value }
            model = gate
            network = .gate(gate)
            gateSegmenter = trained
        } else {
            guard let backbone = Self.backbones[c.backbone] else {
                let names = (Self.backbones.keys.sorted() + [Self.segmenterBackbone]).joined(separator: ", ")
                throw TrainingDataError("unknown backbone '\(c.backbone)' (choose one of \(names))")
            }
            let resnet = try ClassifierModel(configuration: ClassifierConfiguration(backbone: backbone, imageSize: c.imageSize),
                                             seed: c.seed)
            if let weights = c.weightsPath, checkpoint == nil {
                try resnet.loadPretrainedBackbone(from: SafeTensorsFile(contentsOf: URL(fileURLWithPath: weights)))
            }
            resnet.freezeBackbone = c.freezeBackbone
            model = resnet
            network = .resnet(resnet)
            gateSegmenter = try c.segmenterPath.map { try TrainedModel.load($0, store: nil) }
        }
        var generators: [String: RandomGenerator] = [:]
        if case .resnet(let resnet) = network { generators["dropout"] = resnet.head.dropoutGenerator }
        state = try .fresh(model: model, configuration: c, generators: generators)
        if let checkpoint {
            try TrainingCheckpoint.restore(&state, from: checkpoint)
            if case .resnet(let resnet) = network, let g = state.generators["dropout"] { resnet.head.dropoutGenerator = g }
        }
        batches = BatchCursor(loader: data.train)
    }

    /// The backbone name of the MaskGate.
    public static let segmenterBackbone = "segmenter"

    /// Refuses a ResNet classifier whose image size leaves features smaller than the head's
    /// pooling, naming the smallest size (a divisor of 256) that works; checked before a run is created.
    public static func checkImageSize(_ c: RunConfiguration) throws {
        guard c.recipe == .classifier, let backbone = backbones[c.backbone] else { return }
        let head = ClassifierConfiguration(backbone: backbone, imageSize: c.imageSize)
        guard head.pooledSize < 1 else { return }
        let smallest = (0...8).map { 1 << $0 }.first { ClassifierConfiguration(backbone: backbone, imageSize: $0).pooledSize >= 1 } ?? 256
        throw TrainingDataError("image size \(c.imageSize) is too small for the \(c.backbone) classifier (its features would be "
            + "\(head.featureSize)x\(head.featureSize), smaller than the \(head.poolSize)x\(head.poolSize) pooling): use at least \(smallest)")
    }

    public var selection: CheckpointSelection { .lowestLoss }
    public var progress: TrainingProgress { state.progress }
    public var stepsPerEpoch: Int { data.train.stepsPerEpoch(limit: configuration.maxStepsPerEpoch) }
    public var learningRate: Float { state.optimizer.learningRate }
    public var parametersAreFinite: Bool { state.model.parametersAreFinite }

    public func trainStep(epoch: Int, step: Int) throws -> StepResult {
        let model = state.model
        state.optimizer.zeroGradients(model.trainableParameters)
        let logits: Tensor, labels: [Int]
        if network.cachesFeatures {
            let members = data.train.plan(epoch: epoch)[step]
            labels = members.map { data.train.tumorFlags[$0] ? 1 : 0 }
            let features = try headInputs(members, loader: data.train, epoch: epoch, index: step)
            logits = network.forwardHead(features, mode: .training)
        } else {
            let batch = data.resized(try batches.batch(epoch: epoch, index: step))
            labels = batch.labels
            logits = model.forward(batch.images, mode: .training)
        }
        let result = try loss.evaluate(logits: logits, labels: labels)
        if network.cachesFeatures { network.backwardHead(result.gradient) } else { model.backward(result.gradient) }
        state.optimizer.step(model.parameters)
        return StepResult(loss: result.value, metric: Float(Self.accuracy(logits: logits, labels: labels)),
                          images: labels.count)
    }

    public func validate() throws -> ValidationResult {
        var lossSum = 0.0, correct = 0.0, count = 0
        var scores: [Float] = [], allLabels: [Int] = []
        let loader = data.validation
        for (index, members) in loader.plan(epoch: 0).enumerated() {
            let labels = members.map { loader.tumorFlags[$0] ? 1 : 0 }
            let logits: Tensor
            if network.cachesFeatures {
                logits = network.forwardHead(try headInputs(members, loader: loader, epoch: 0, index: index),
                                             mode: .inference)
            } else {
                let batch = data.resized(try loader.makeBatch(epoch: 0, index: index, members: members))
                logits = state.model.forward(batch.images, mode: .inference)
            }
            lossSum += Double(try loss.evaluate(logits: logits, labels: labels).value) * Double(labels.count)
            correct += Self.accuracy(logits: logits, labels: labels) * Double(labels.count)
            count += labels.count
            scores += TwoStagePipeline.softmaxTumor(logits)
            allLabels += labels
        }
        try chooseThresholds(scores: scores, labels: allLabels)
        return ValidationResult(loss: Float(lossSum / Double(max(count, 1))), metric: Float(correct / Double(max(count, 1))))
    }

    /// Picks the decision and gate thresholds for the current weights from validation scores.
    private func chooseThresholds(scores: [Float], labels: [Int]) throws {
        thresholds = [TrainedModel.thresholdKey: String(ThresholdChoice.decision(scores: scores, labels: labels))]
        guard let segmenter = gateSegmenter else { return }
        if validationOverlaps == nil { validationOverlaps = try Self.overlaps(of: segmenter, on: data.validation) }
        let gate = ThresholdChoice.gate(scores: scores, overlaps: validationOverlaps!)
        thresholds[TrainedModel.gateThresholdKey] = String(gate.threshold)
    }

    /// The segmenter's masks (through the pipeline, as at inference) against the truth, per slice.
    static func overlaps(of segmenter: TrainedModel, on loader: Loader) throws -> [SliceOverlap] {
        let pipeline = try TwoStagePipeline(classifier: nil, segmenter: segmenter)
        var out: [SliceOverlap] = []
        let epoch = loader.batches(epoch: 0)
        while let batch = try epoch.next() {
            let p = pipeline.maskProbabilities(batch.images)!
            let side = batch.images.shape[1] * batch.images.shape[2]
            for (i, slice) in batch.slices.enumerated() {
                let range = (i * side)..<((i + 1) * side)
                let overlap = try MaskOverlap(predicted: p.scalars[range].map { $0 > 0.5 ? 1 : 0 },
                                              truth: batch.masks.scalars[range].map { $0 > 0.5 ? 1 : 0 })
                out.append(SliceOverlap(patientID: slice.patientID, overlap: overlap))
            }
        }
        return out
    }

    /// The head's inputs for `members`: the gate's (with neighbours), or cached backbone features.
    private func headInputs(_ members: [Int], loader: Loader, epoch: Int, index: Int) throws -> Tensor {
        guard case .gate(let gate) = network else {
            return try cachedFeatures(members, loader: loader, epoch: epoch, index: index)
        }
        try computeEvidence(of: loader, gate: gate)
        let records = members.map { loader.records[$0] }
        let reach = gate.gateConfiguration.neighbourReach
        return gate.features(evidence: records.map { evidence[$0.patientID]![$0.sliceNumber]! },
                             neighbourAreas: records.map {
                                 MaskEvidence.neighbourArea(of: $0.sliceNumber, in: evidence[$0.patientID]!, reach: reach)
                             })
    }

    /// Runs the gate's segmenter (without augmentation) over every slice of `loader`, once per part:
    /// the parts' patients are disjoint, so a known first patient means the part is done.
    private func computeEvidence(of loader: Loader, gate: MaskGate) throws {
        guard let first = loader.records.first, evidence[first.patientID] == nil else { return }
        let size = max(configuration.batchSize, 1)
        for (index, start) in stride(from: 0, to: loader.records.count, by: size).enumerated() {
            let members = Array(start..<min(start + size, loader.records.count))
            let batch = data.resized(try loader.makeBatch(epoch: 0, index: index, members: members))
            let found = MaskEvidence.of(masks: gate.segmenter.forward(batch.images, mode: .inference))
            for (member, e) in zip(members, found) {
                let record = loader.records[member]
                evidence[record.patientID, default: [:]][record.sliceNumber] = e
            }
        }
    }

    /// Backbone features [N, h, w, C] of `members`, computing (without augmentation) only the uncached ones.
    private func cachedFeatures(_ members: [Int], loader: Loader, epoch: Int, index: Int) throws -> Tensor {
        let missing = members.filter { featureCache[loader.records[$0].id] == nil }
        if !missing.isEmpty {
            let batch = data.resized(try loader.makeBatch(epoch: epoch, index: index, members: missing))
            let features = network.features(batch.images)
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
        if case .resnet(let resnet) = network { state.generators["dropout"] = resnet.head.dropoutGenerator }
        try TrainingCheckpoint.save(state, configuration: configuration, to: url, metadata: thresholds)
    }
}

/// The two kinds of network the classifier recipe trains.
private enum SliceClassifierNetwork {
    case resnet(ClassifierModel)
    case gate(MaskGate)

    /// Whether training runs on cached features of a frozen part.
    var cachesFeatures: Bool {
        switch self {
        case .resnet(let m): return m.freezeBackbone
        case .gate: return true
        }
    }

    /// Frozen-backbone features (the gate reads evidence instead; see `headInputs`).
    func features(_ x: Tensor) -> Tensor {
        switch self {
        case .resnet(let m): return m.features(x)
        case .gate(let m): return m.features(x)
        }
    }

    func forwardHead(_ f: Tensor, mode: ForwardMode) -> Tensor {
        switch self {
        case .resnet(let m): return m.forwardHead(f, mode: mode)
        case .gate(let m): return m.forwardHead(f, mode: mode)
        }
    }

    func backwardHead(_ dy: Tensor) {
        switch self {
        case .resnet(let m): m.backwardHead(dy)
        case .gate(let m): m.backwardHead(dy)
        }
    }
}
