// ResNet backbone with torchvision's structure and state_dict names, without avgpool and fc:
//   conv1 (7x7/2, pad 3, no bias) -> bn1 -> ReLU -> maxpool (3x3/2, pad 1) -> layer1 ... layerK
// Input NHWC [N, H, W, Cin]; output features NHWC [N, H/32, W/32, 512 * expansion] for four stages.
// A torchvision checkpoint's `fc.*` entries have no counterpart here (the classifier head replaces
// them), so its remaining names load one to one for transfer learning.

/// The convolutional trunk of a torchvision ResNet (everything before `avgpool`).
public final class ResNet: Layer {
    /// The structure this backbone was built from.
    public let configuration: ResNetConfiguration
    /// Stem convolution, 7x7 stride 2.
    public let conv1: Conv2D
    /// Stem BatchNorm.
    public let bn1: BatchNorm2D
    private let relu = ReLU()
    private let maxpool = MaxPool2D(kernelSize: 3, stride: 2, padding: 1)
    private let stem: ConvBatchNorm
    /// Stages in order; `stages[i][j]` is torchvision's `layer{i+1}.{j}`.
    public let stages: [[any ResidualBlock]]
    public let parameters: [Parameter]
    public let buffers: [Buffer]

    /// Whether backward computes dL/dInput (the stem convolution's input gradient).
    public var computesInputGradient: Bool {
        get { conv1.computesInputGradient }
        set { conv1.computesInputGradient = newValue }
    }

    /// A backbone with parameter names prefixed by `prefix` (empty for torchvision's own names).
    public init(configuration: ResNetConfiguration, prefix: String = "", rng: inout RandomGenerator) throws {
        try configuration.validate()
        self.configuration = configuration
        conv1 = Conv2D(name: joinName(prefix, "conv1"), inChannels: configuration.inputChannels,
                       outChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false, rng: &rng)
        conv1.computesInputGradient = false
        bn1 = BatchNorm2D(name: joinName(prefix, "bn1"), channels: 64)
        stem = ConvBatchNorm(conv1, bn1)
        var channels = 64
        var stages: [[any ResidualBlock]] = []
        for (i, count) in configuration.blocksPerStage.enumerated() {
            let planes = configuration.planes(stage: i)
            var blocks: [any ResidualBlock] = []
            for j in 0..<count {
                let name = joinName(prefix, "layer\(i + 1).\(j)")
                let stride = (i > 0 && j == 0) ? 2 : 1
                switch configuration.block {
                case .basic:
                    blocks.append(BasicBlock(name: name, inChannels: channels, planes: planes,
                                             stride: stride, rng: &rng))
                case .bottleneck:
                    blocks.append(Bottleneck(name: name, inChannels: channels, planes: planes, stride: stride,
                                             widthPerGroup: configuration.widthPerGroup, rng: &rng))
                }
                channels = planes * configuration.expansion
            }
            stages.append(blocks)
        }
        self.stages = stages
        let blocks = stages.joined()
        parameters = conv1.parameters + bn1.parameters + blocks.flatMap(\.parameters)
        buffers = conv1.buffers + bn1.buffers + blocks.flatMap(\.buffers)
    }

    /// Features of an NHWC batch.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        var h: Tensor
        switch mode {
        case .training:
            h = relu.forward(bn1.forward(conv1.forward(x, mode: mode), mode: mode), mode: mode)
        case .inference:
            // BatchNorm folded into the stem convolution, the ReLU in its output pass.
            relu.forgetTrainingCache()
            h = stem.inference(x, then: .relu)
        }
        h = maxpool.forward(h, mode: mode)
        for block in stages.joined() { h = block.forward(h, mode: mode) }
        return h
    }

    /// Back-propagates dL/dFeatures; returns dL/dx when `computesInputGradient`, else nil.
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor? {
        var d = dy
        for block in stages.joined().reversed() { d = block.backward(d) }
        let dx = conv1.backward(bn1.backward(relu.backward(maxpool.backward(d))))
        return computesInputGradient ? dx : nil
    }
}
