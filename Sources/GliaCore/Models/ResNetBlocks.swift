// ResNet residual blocks with torchvision's structure and state_dict names.
//
// BasicBlock (ResNet-18/34), expansion 1:
//   out = ReLU( BN2(Conv3x3(ReLU(BN1(Conv3x3/s(x))))) + identity(x) )
// Bottleneck (ResNet-50+), expansion 4, stride on the 3x3 conv (torchvision "v1.5"):
//   out = ReLU( BN3(Conv1x1(ReLU(BN2(Conv3x3/s(ReLU(BN1(Conv1x1(x)))))))) + identity(x) )
// identity(x) = x, or when the shape changes (stride != 1 or Cin != planes * expansion) the
// projection BN(Conv1x1/s(x)), named `downsample.0` / `downsample.1` as in torchvision.
//
// Backward: with d = dL/d(sum) (the last ReLU's backward), both branches receive d unchanged
// (d(a+b)/da = d(a+b)/db = 1) and dL/dx is the sum of the main branch's and the identity's dx.
// Convolutions carry no bias (BatchNorm follows each one), as in torchvision.
//
// Inference folds each BatchNorm into its convolution and fuses the ReLUs and the residual sum into
// the convolutions' output passes (ConvBatchNorm.swift); training runs the layers one by one.

/// A residual block of a ResNet stage: explicit forward and backward over NHWC tensors.
public protocol ResidualBlock: Layer {
    /// Output = ReLU(main(x) + identity(x)); a training forward keeps what backward needs.
    func forward(_ x: Tensor, mode: ForwardMode) -> Tensor
    /// dL/dx from dL/dOutput; accumulates the block's parameter gradients.
    func backward(_ dy: Tensor) -> Tensor
}

/// torchvision's `downsample`: Conv1x1 with stride, then BatchNorm; used when a block's shape changes.
public final class Projection: Layer {
    /// `downsample.0`.
    public let conv: Conv2D
    /// `downsample.1`.
    public let bn: BatchNorm2D
    private let folded: ConvBatchNorm

    /// A projection named `<name>.0` (conv) and `<name>.1` (BN).
    public init(name: String, inChannels: Int, outChannels: Int, stride: Int, rng: inout RandomGenerator) {
        conv = Conv2D(name: joinName(name, "0"), inChannels: inChannels, outChannels: outChannels,
                      kernelSize: 1, stride: stride, bias: false, rng: &rng)
        bn = BatchNorm2D(name: joinName(name, "1"), channels: outChannels)
        folded = ConvBatchNorm(conv, bn)
    }

    public var parameters: [Parameter] { conv.parameters + bn.parameters }
    public var buffers: [Buffer] { conv.buffers + bn.buffers }

    /// BN(Conv1x1/s(x)).
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        if mode == .inference { return folded.inference(x) }
        return bn.forward(conv.forward(x, mode: mode), mode: mode)
    }

    /// dx = Conv^T(BN^T(dy)).
    public func backward(_ dy: Tensor) -> Tensor {
        conv.backward(bn.backward(dy))
    }
}

/// torchvision `BasicBlock`: two 3x3 convolutions, the first carrying the stride.
public final class BasicBlock: ResidualBlock {
    /// First 3x3 convolution (`conv1`), carrying the stride.
    public let conv1: Conv2D
    /// `bn1`.
    public let bn1: BatchNorm2D
    /// Second 3x3 convolution (`conv2`).
    public let conv2: Conv2D
    /// `bn2`, before the residual sum.
    public let bn2: BatchNorm2D
    /// Present when the block changes resolution or width.
    public let downsample: Projection?
    private let relu1 = ReLU()
    private let relu2 = ReLU()
    private let folded1: ConvBatchNorm, folded2: ConvBatchNorm

    /// A block named `name` ("layer1.0") from `inChannels` to `planes` channels.
    public init(name: String, inChannels: Int, planes: Int, stride: Int, rng: inout RandomGenerator) {
        conv1 = Conv2D(name: joinName(name, "conv1"), inChannels: inChannels, outChannels: planes,
                       kernelSize: 3, stride: stride, padding: 1, bias: false, rng: &rng)
        bn1 = BatchNorm2D(name: joinName(name, "bn1"), channels: planes)
        conv2 = Conv2D(name: joinName(name, "conv2"), inChannels: planes, outChannels: planes,
                       kernelSize: 3, padding: 1, bias: false, rng: &rng)
        bn2 = BatchNorm2D(name: joinName(name, "bn2"), channels: planes)
        downsample = (stride != 1 || inChannels != planes)
            ? Projection(name: joinName(name, "downsample"), inChannels: inChannels, outChannels: planes,
                         stride: stride, rng: &rng)
            : nil
        folded1 = ConvBatchNorm(conv1, bn1)
        folded2 = ConvBatchNorm(conv2, bn2)
    }

    public var parameters: [Parameter] {
        conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters + (downsample?.parameters ?? [])
    }
    public var buffers: [Buffer] {
        conv1.buffers + bn1.buffers + conv2.buffers + bn2.buffers + (downsample?.buffers ?? [])
    }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        if mode == .inference {
            relu1.forgetTrainingCache()
            relu2.forgetTrainingCache()
            let identity = downsample?.forward(x, mode: mode) ?? x
            return folded2.inference(folded1.inference(x, then: .relu), then: .addThenReLU(identity))
        }
        var out = relu1.forward(bn1.forward(conv1.forward(x, mode: mode), mode: mode), mode: mode)
        out = bn2.forward(conv2.forward(out, mode: mode), mode: mode)
        out.add(downsample?.forward(x, mode: mode) ?? x)
        return relu2.forward(out, mode: mode)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let d = relu2.backward(dy)
        var dx = conv1.backward(bn1.backward(relu1.backward(conv2.backward(bn2.backward(d)))))
        dx.add(downsample?.backward(d) ?? d)
        return dx
    }
}

/// torchvision `Bottleneck`: 1x1 reduce, 3x3 (with the stride), 1x1 expand by 4.
public final class Bottleneck: ResidualBlock {
    /// 1x1 reduction to the inner width (`conv1`).
    public let conv1: Conv2D
    /// `bn1`.
    public let bn1: BatchNorm2D
    /// 3x3 convolution at the inner width (`conv2`), carrying the stride.
    public let conv2: Conv2D
    /// `bn2`.
    public let bn2: BatchNorm2D
    /// 1x1 expansion to planes * 4 (`conv3`).
    public let conv3: Conv2D
    /// `bn3`, before the residual sum.
    public let bn3: BatchNorm2D
    /// Present when the block changes resolution or width.
    public let downsample: Projection?
    private let relu1 = ReLU()
    private let relu2 = ReLU()
    private let relu3 = ReLU()
    private let folded1: ConvBatchNorm, folded2: ConvBatchNorm, folded3: ConvBatchNorm

    /// Output channels per plane.
    public static let expansion = 4

    /// A block named `name` ("layer2.0"); inner width = planes * widthPerGroup / 64 (groups = 1).
    public init(name: String, inChannels: Int, planes: Int, stride: Int, widthPerGroup: Int,
                rng: inout RandomGenerator) {
        let width = planes * widthPerGroup / 64
        let out = planes * Self.expansion
        conv1 = Conv2D(name: joinName(name, "conv1"), inChannels: inChannels, outChannels: width,
                       kernelSize: 1, bias: false, rng: &rng)
        bn1 = BatchNorm2D(name: joinName(name, "bn1"), channels: width)
        conv2 = Conv2D(name: joinName(name, "conv2"), inChannels: width, outChannels: width,
                       kernelSize: 3, stride: stride, padding: 1, bias: false, rng: &rng)
        bn2 = BatchNorm2D(name: joinName(name, "bn2"), channels: width)
        conv3 = Conv2D(name: joinName(name, "conv3"), inChannels: width, outChannels: out,
                       kernelSize: 1, bias: false, rng: &rng)
        bn3 = BatchNorm2D(name: joinName(name, "bn3"), channels: out)
        downsample = (stride != 1 || inChannels != out)
            ? Projection(name: joinName(name, "downsample"), inChannels: inChannels, outChannels: out,
                         stride: stride, rng: &rng)
            : nil
        folded1 = ConvBatchNorm(conv1, bn1)
        folded2 = ConvBatchNorm(conv2, bn2)
        folded3 = ConvBatchNorm(conv3, bn3)
    }

    public var parameters: [Parameter] {
        conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters + conv3.parameters
            + bn3.parameters + (downsample?.parameters ?? [])
    }
    public var buffers: [Buffer] {
        conv1.buffers + bn1.buffers + conv2.buffers + bn2.buffers + conv3.buffers + bn3.buffers
            + (downsample?.buffers ?? [])
    }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        if mode == .inference {
            for relu in [relu1, relu2, relu3] { relu.forgetTrainingCache() }
            let identity = downsample?.forward(x, mode: mode) ?? x
            let inner = folded2.inference(folded1.inference(x, then: .relu), then: .relu)
            return folded3.inference(inner, then: .addThenReLU(identity))
        }
        var out = relu1.forward(bn1.forward(conv1.forward(x, mode: mode), mode: mode), mode: mode)
        out = relu2.forward(bn2.forward(conv2.forward(out, mode: mode), mode: mode), mode: mode)
        out = bn3.forward(conv3.forward(out, mode: mode), mode: mode)
        out.add(downsample?.forward(x, mode: mode) ?? x)
        return relu3.forward(out, mode: mode)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let d = relu3.backward(dy)
        var m = conv3.backward(bn3.backward(d))
        m = conv2.backward(bn2.backward(relu2.backward(m)))
        var dx = conv1.backward(bn1.backward(relu1.backward(m)))
        dx.add(downsample?.backward(d) ?? d)
        return dx
    }
}
