// The slice classifier: a ResNet backbone (torchvision names, no prefix) and the seed's head
// (`head.fc1`, `head.fc2`). Input NHWC [N, S, S, C]; output logits [N, classes].
//
// Transfer learning (the seed's strategy): load a pretrained backbone, set `freezeBackbone`, train the
// head. A frozen backbone runs in inference mode (running BatchNorm statistics, nothing cached), its
// parameters are marked frozen so optimizers skip them, and backward stops at the features: the
// backbone does no backward work at all. Its output depends on the image only, so callers may cache
// `features(_:)` per slice and train with `forwardHead` / `backwardHead` alone.

/// ResNet backbone + classifier head, with an optional frozen backbone.
public final class ClassifierModel: Model {
    /// The structure of this classifier.
    public let classifierConfiguration: ClassifierConfiguration
    /// The convolutional trunk, named as torchvision's ResNet.
    public let backbone: ResNet
    /// AvgPool -> Flatten -> fc1 -> ReLU -> Dropout -> fc2.
    public let head: ClassifierHead
    public let parameters: [Parameter]
    public let buffers: [Buffer]
    private var backboneRanForward = false

    /// Freezes (or unfreezes) the backbone: inference-mode forward, frozen parameters, no backward.
    public var freezeBackbone = false {
        didSet { backbone.setFrozen(freezeBackbone) }
    }

    public var configuration: ModelConfiguration { .classifier(classifierConfiguration) }

    public var computesInputGradient: Bool {
        get { backbone.computesInputGradient }
        set { backbone.computesInputGradient = newValue }
    }

    /// A freshly initialised classifier; `seed` fixes every weight and the dropout stream.
    public init(configuration: ClassifierConfiguration, seed: UInt64) throws {
        try configuration.validate()
        classifierConfiguration = configuration
        var rng = RandomGenerator(seed: seed)
        backbone = try ResNet(configuration: configuration.backbone, rng: &rng)
        head = ClassifierHead(configuration: configuration, rng: &rng)
        parameters = backbone.parameters + head.parameters
        buffers = backbone.buffers + head.buffers
    }

    public func checkInput(shape: [Int]) throws {
        let c = classifierConfiguration
        guard shape.count == 4, shape[0] > 0, shape[1] == c.imageSize, shape[2] == c.imageSize,
              shape[3] == c.backbone.inputChannels else {
            throw ModelInputError(shape: shape, requirement:
                "[N, \(c.imageSize), \(c.imageSize), \(c.backbone.inputChannels)] with N >= 1 (the head's width is fixed by the image size)")
        }
    }

    /// Logits for an NHWC image batch. With a frozen backbone only the head trains.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let backboneMode: ForwardMode = freezeBackbone ? .inference : mode
        backboneRanForward = backboneMode == .training
        return head.forward(backbone.forward(x, mode: backboneMode), mode: mode)
    }

    /// Back-propagates dL/dLogits. With a frozen backbone this stops at the features and returns nil.
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor? {
        let dFeatures = head.backward(dy)
        guard backboneRanForward else { return nil }
        backboneRanForward = false
        return backbone.backward(dFeatures)
    }

    /// Backbone features NHWC [N, h, w, C] in inference mode: what a frozen backbone gives the head,
    /// and what may be cached per slice.
    public func features(_ x: Tensor) -> Tensor {
        backbone.forward(x, mode: .inference)
    }

    /// The head alone on (cached) features: logits [N, classes].
    public func forwardHead(_ features: Tensor, mode: ForwardMode) -> Tensor {
        head.forward(features, mode: mode)
    }

    /// Back-propagates dL/dLogits through the head alone (after `forwardHead(.training)`).
    public func backwardHead(_ dy: Tensor) {
        _ = head.backward(dy)
    }
}
