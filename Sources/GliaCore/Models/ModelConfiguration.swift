// Model configurations: everything needed to rebuild a model's structure, as Codable values.
//
// A checkpoint stores its model's configuration as JSON under the metadata key `glia.model`, so a
// checkpoint alone rebuilds its model: `try ModelConfiguration(metadata: meta).makeModel(seed: 0)`,
// then load the tensors by name. The JSON is versioned ("format": 1), names its kind explicitly and
// has sorted keys, e.g. for the fixtures' ResUNet:
//   {"format":1,"kind":"resunet","resunet":{"filters":[16,32,64,128,256],"inputChannels":3,"outputChannels":1}}
// and for a classifier {"classifier":{"backbone":{...},"classes":2,...},"format":1,"kind":"classifier"}.
import Foundation

/// The structure of any Glia model; stored as JSON in checkpoint metadata.
public enum ModelConfiguration: Equatable, Sendable {
    /// A ResNet backbone with the seed's classifier head.
    case classifier(ClassifierConfiguration)
    /// The ResUNet segmenter.
    case resUNet(ResUNetConfiguration)
    /// A slice classifier reading a ResUNet's mask.
    case maskGate(MaskGateConfiguration)

    /// Checkpoint metadata key under which the configuration JSON is stored.
    public static let metadataKey = "glia.model"

    /// Builds a freshly initialised model of this configuration; `seed` fixes every initial weight.
    public func makeModel(seed: UInt64) throws -> any Model {
        switch self {
        case .classifier(let c): return try ClassifierModel(configuration: c, seed: seed)
        case .resUNet(let c): return try ResUNet(configuration: c, seed: seed)
        case .maskGate(let c): return try MaskGate(configuration: c, seed: seed)
        }
    }

    /// Checks that the values describe a buildable model.
    public func validate() throws {
        switch self {
        case .classifier(let c): try c.validate()
        case .resUNet(let c): try c.validate()
        case .maskGate(let c): try c.validate()
        }
    }

    /// Compact JSON with sorted keys (stable bytes for the same configuration).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain structs of ints, strings and doubles cannot fail.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses and validates configuration JSON.
    public init(json: String) throws {
        do {
            self = try JSONDecoder().decode(ModelConfiguration.self, from: Data(json.utf8))
        } catch let error as ModelConfigurationError {
            throw error
        } catch let error as DecodingError {
            throw ModelConfigurationError.unreadable(Self.summary(of: error))
        } catch {
            throw ModelConfigurationError.unreadable("\(error)")
        }
        try validate()
    }

    /// One line naming the field a decoding error is about.
    private static func summary(of error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "top level" : keys.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let c): return "missing field '\(path(c.codingPath + [key]))'"
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "wrong type at '\(path(c.codingPath))'"
        case .dataCorrupted(let c): return "\(c.debugDescription) at '\(path(c.codingPath))'"
        @unknown default: return "\(error)"
        }
    }

    /// The configuration stored in checkpoint metadata under `metadataKey`.
    public init(metadata: [String: String]) throws {
        guard let text = metadata[Self.metadataKey] else {
            throw ModelConfigurationError.missing(Self.metadataKey)
        }
        try self.init(json: text)
    }

    /// Metadata entries to store with a checkpoint of this model.
    public var metadata: [String: String] { [Self.metadataKey: json] }
}

extension ModelConfiguration: Codable {
    private enum Keys: String, CodingKey { case format, kind, classifier, resunet, maskgate }
    /// Version of the JSON layout; bumped when a field's meaning changes.
    static let format = 1

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let format = try c.decode(Int.self, forKey: .format)
        guard format == Self.format else { throw ModelConfigurationError.unsupportedFormat(format) }
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "classifier": self = .classifier(try c.decode(ClassifierConfiguration.self, forKey: .classifier))
        case "resunet": self = .resUNet(try c.decode(ResUNetConfiguration.self, forKey: .resunet))
        case "maskgate": self = .maskGate(try c.decode(MaskGateConfiguration.self, forKey: .maskgate))
        default: throw ModelConfigurationError.unknownKind(kind)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(Self.format, forKey: .format)
        switch self {
        case .classifier(let v):
            try c.encode("classifier", forKey: .kind)
            try c.encode(v, forKey: .classifier)
        case .resUNet(let v):
            try c.encode("resunet", forKey: .kind)
            try c.encode(v, forKey: .resunet)
        case .maskGate(let v):
            try c.encode("maskgate", forKey: .kind)
            try c.encode(v, forKey: .maskgate)
        }
    }
}

/// Why a model configuration cannot be read or built; one line each.
public enum ModelConfigurationError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The checkpoint metadata has no configuration entry.
    case missing(String)
    /// The JSON does not parse as a configuration.
    case unreadable(String)
    /// A newer (or unknown) JSON layout version.
    case unsupportedFormat(Int)
    /// A model kind this version of Glia does not know.
    case unknownKind(String)
    /// A field holds a value no model can be built from.
    case invalid(field: String, value: String, reason: String)
    /// The configuration describes more values than the checkpoint file holds.
    case largerThanFile(needs: Int, holds: Int)

    public var description: String {
        switch self {
        case .missing(let key): return "checkpoint metadata has no model configuration ('\(key)')"
        case .unreadable(let why): return "model configuration is not readable JSON: \(why)"
        case .unsupportedFormat(let f): return "model configuration format \(f) is not supported (expected \(ModelConfiguration.format))"
        case .unknownKind(let k): return "unknown model kind '\(k)' (expected classifier, resunet or maskgate)"
        case .invalid(let field, let value, let reason): return "model configuration \(field) = \(value): \(reason)"
        case .largerThanFile(let needs, let holds):
            let needed = needs == Int.max ? "more than 2^63" : "at least \(needs)"
            return "model configuration needs \(needed) values, but the file holds only \(holds)"
        }
    }

    public var errorDescription: String? { description }
}

/// A ResNet backbone as torchvision builds it: stem Conv7x7/2 -> BN -> ReLU -> MaxPool3x3/2, then
/// stages of residual blocks with 64, 128, 256, 512... planes, the first stage at stride 1 and each
/// later stage starting with a stride-2 block (for bottlenecks the stride sits on the 3x3 conv, "v1.5").
public struct ResNetConfiguration: Codable, Equatable, Sendable {
    /// The residual block type.
    public enum Block: String, Codable, Sendable {
        /// Two 3x3 convolutions (ResNet-18/34); expansion 1.
        case basic
        /// 1x1 -> 3x3 -> 1x1 convolutions (ResNet-50 and deeper); expansion 4.
        case bottleneck
    }

    /// Residual block type.
    public var block: Block
    /// Number of blocks in each stage (torchvision's `layers`); stage i has 64 * 2^i planes.
    public var blocksPerStage: [Int]
    /// torchvision's `width_per_group`: a bottleneck's inner width is planes * widthPerGroup / 64 * groups.
    public var widthPerGroup: Int
    /// Grouped convolutions are not supported: must be 1.
    public var groups: Int
    /// Channels of the input image.
    public var inputChannels: Int

    /// A configuration; see the field docs for the meaning of each value.
    public init(block: Block, blocksPerStage: [Int], widthPerGroup: Int = 64, groups: Int = 1,
                inputChannels: Int = 3) {
        self.block = block
        self.blocksPerStage = blocksPerStage
        self.widthPerGroup = widthPerGroup
        self.groups = groups
        self.inputChannels = inputChannels
    }

    /// torchvision `resnet18`.
    public static let resnet18 = ResNetConfiguration(block: .basic, blocksPerStage: [2, 2, 2, 2])
    /// torchvision `resnet34`.
    public static let resnet34 = ResNetConfiguration(block: .basic, blocksPerStage: [3, 4, 6, 3])
    /// torchvision `resnet50`.
    public static let resnet50 = ResNetConfiguration(block: .bottleneck, blocksPerStage: [3, 4, 6, 3])

    /// Output channels of a block relative to its planes.
    public var expansion: Int { block == .basic ? 1 : 4 }
    /// Planes of stage `i` (0-based).
    public func planes(stage i: Int) -> Int { 64 << i }
    /// Channels of the backbone's output features.
    public var featureChannels: Int { planes(stage: blocksPerStage.count - 1) * expansion }

    /// Spatial size of the features for an input of `size` pixels along one axis.
    public func featureSize(forInput size: Int) -> Int {
        var s = (size + 2 * 3 - 7) / 2 + 1           // conv1 7x7, stride 2, pad 3
        s = (s + 2 * 1 - 3) / 2 + 1                  // maxpool 3x3, stride 2, pad 1
        for _ in 1..<max(1, blocksPerStage.count) {  // each later stage: 3x3 (or 1x1) stride 2
            s = (s + 2 * 1 - 3) / 2 + 1
        }
        return s
    }

    /// Throws `ModelConfigurationError.invalid` for values torchvision would also reject.
    public func validate() throws {
        func bad(_ f: String, _ v: Any, _ why: String) -> ModelConfigurationError {
            .invalid(field: f, value: "\(v)", reason: why)
        }
        if blocksPerStage.isEmpty || blocksPerStage.contains(where: { $0 < 1 }) {
            throw bad("blocksPerStage", blocksPerStage, "needs one or more stages of at least one block")
        }
        // Upper bounds keep the size arithmetic (planes 64 << stage, featureSize) from overflowing;
        // whether the weights exist is checked against the file (ModelConfiguration.minimumStateCount).
        if blocksPerStage.count > ModelLimits.stages || blocksPerStage.contains(where: { $0 > ModelLimits.blocksPerStage }) {
            throw bad("blocksPerStage", blocksPerStage,
                      "at most \(ModelLimits.stages) stages of at most \(ModelLimits.blocksPerStage) blocks")
        }
        if groups != 1 { throw bad("groups", groups, "grouped convolutions are not supported") }
        if !(1...ModelLimits.channels).contains(widthPerGroup) {
            throw bad("widthPerGroup", widthPerGroup, "must be in 1...\(ModelLimits.channels)")
        }
        if block == .basic && widthPerGroup != 64 {
            throw bad("widthPerGroup", widthPerGroup, "basic blocks only support 64 (as torchvision)")
        }
        if !(1...ModelLimits.inputChannels).contains(inputChannels) {
            throw bad("inputChannels", inputChannels, "must be in 1...\(ModelLimits.inputChannels)")
        }
    }
}

/// A ResNet backbone plus the seed's head: AvgPool kxk -> Flatten -> Dense(hidden) + ReLU ->
/// Dropout -> Dense(classes). The head's input width depends on the image size, as in the seed
/// (256x256 input, ResNet-50: 8x8x2048 features -> 2x2x2048 -> 8192).
public struct ClassifierConfiguration: Codable, Equatable, Sendable {
    /// The backbone.
    public var backbone: ResNetConfiguration
    /// Height and width of the (square) input images.
    public var imageSize: Int
    /// Kernel and stride of the head's average pooling.
    public var poolSize: Int
    /// Width of the hidden dense layer.
    public var hiddenFeatures: Int
    /// Dropout probability between the dense layers (0 disables it).
    public var dropout: Double
    /// Number of output classes (logits).
    public var classes: Int

    /// A configuration with the seed's head by default.
    public init(backbone: ResNetConfiguration, imageSize: Int = 256, poolSize: Int = 4,
                hiddenFeatures: Int = 256, dropout: Double = 0.3, classes: Int = 2) {
        self.backbone = backbone
        self.imageSize = imageSize
        self.poolSize = poolSize
        self.hiddenFeatures = hiddenFeatures
        self.dropout = dropout
        self.classes = classes
    }

    /// Spatial size of the backbone features.
    public var featureSize: Int { backbone.featureSize(forInput: imageSize) }
    /// Spatial size after the head's pooling.
    public var pooledSize: Int { featureSize / poolSize }
    /// Inputs of the first dense layer: channels x pooled height x pooled width.
    public var headInputFeatures: Int { backbone.featureChannels * pooledSize * pooledSize }

    /// Throws `ModelConfigurationError.invalid` for a head that cannot be built.
    public func validate() throws {
        try backbone.validate()
        func bad(_ f: String, _ v: Any, _ why: String) -> ModelConfigurationError {
            .invalid(field: f, value: "\(v)", reason: why)
        }
        if !(1...ModelLimits.imageSize).contains(imageSize) {
            throw bad("imageSize", imageSize, "must be in 1...\(ModelLimits.imageSize)")
        }
        if !(1...imageSize).contains(poolSize) { throw bad("poolSize", poolSize, "must be in 1...imageSize") }
        if pooledSize < 1 {
            throw bad("imageSize", imageSize, "features are \(featureSize)x\(featureSize), smaller than the \(poolSize)x\(poolSize) pooling")
        }
        if !(1...ModelLimits.features).contains(hiddenFeatures) {
            throw bad("hiddenFeatures", hiddenFeatures, "must be in 1...\(ModelLimits.features)")
        }
        if !(0..<1).contains(dropout) { throw bad("dropout", dropout, "must be in [0, 1)") }
        if !(1...ModelLimits.features).contains(classes) {
            throw bad("classes", classes, "must be in 1...\(ModelLimits.features)")
        }
    }
}

/// The ResUNet of the parity fixtures: a stem, `filters.count - 2` residual encoder blocks and a
/// residual bottleneck (each after a 2x2 max-pool), `filters.count - 1` decoder blocks (nearest 2x
/// upsampling, concatenation with the skip), a 1x1 head and a sigmoid.
public struct ResUNetConfiguration: Codable, Equatable, Sendable {
    /// Channels of the input image.
    public var inputChannels: Int
    /// Filters per level, stem first, bottleneck last (the fixtures: 16, 32, 64, 128, 256).
    public var filters: [Int]
    /// Channels of the output probability map.
    public var outputChannels: Int

    /// A configuration; the defaults are the parity fixtures' ResUNet.
    public init(inputChannels: Int = 3, filters: [Int] = [16, 32, 64, 128, 256], outputChannels: Int = 1) {
        self.inputChannels = inputChannels
        self.filters = filters
        self.outputChannels = outputChannels
    }

    /// The seed's (and the fixtures') ResUNet.
    public static let standard = ResUNetConfiguration()

    /// Input height and width must be multiples of this (one halving per pooled level).
    public var sizeMultiple: Int { 1 << (filters.count - 1) }

    /// Throws `ModelConfigurationError.invalid` for values no ResUNet can be built from.
    public func validate() throws {
        if filters.count < 2 || filters.contains(where: { $0 < 1 }) {
            throw ModelConfigurationError.invalid(field: "filters", value: "\(filters)",
                                                  reason: "needs at least two positive levels")
        }
        if filters.count > ModelLimits.stages || filters.contains(where: { $0 > ModelLimits.channels }) {
            throw ModelConfigurationError.invalid(field: "filters", value: "\(filters)",
                                                  reason: "at most \(ModelLimits.stages) levels of at most \(ModelLimits.channels) filters")
        }
        if !(1...ModelLimits.inputChannels).contains(inputChannels) || !(1...ModelLimits.channels).contains(outputChannels) {
            throw ModelConfigurationError.invalid(field: "channels", value: "\(inputChannels)->\(outputChannels)",
                                                  reason: "input must be in 1...\(ModelLimits.inputChannels), output in 1...\(ModelLimits.channels)")
        }
    }
}
