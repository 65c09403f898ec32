// ResUNet building blocks, named as in the parity fixtures' generate.py.
//
// Stem (ReLU *before* BN, as in the Keras original); convs 3x3 pad 1 with bias:
//   s0 = bn2(ReLU(conv2(bn1(ReLU(conv1(x))))))
// ResBlock(cin, f); convs with bias (the main/skip conv biases get zero gradient by maths: a
// train-mode BN follows and removes any per-channel constant):
//   m = main_bn2(main_conv2_3x3(ReLU(main_bn1(main_conv1_1x1(x)))))
//   s = skip_bn(skip_conv_1x1(x))
//   out = ReLU(m + s)
// Backward of the sum: both branches get d = dL/d(m+s); dL/dx = dx_main + dx_skip.
//
// Inference fuses each ReLU into the convolution before it; in the residual block the BatchNorms are
// folded into their convolutions and the sum joins main_conv2's output pass (ConvBatchNorm.swift).
// The stem's BatchNorms follow a ReLU, so they stay separate layers.

/// The ResUNet stem: two Conv3x3 -> ReLU -> BN stages.
public final class ResUNetStem: Layer {
    /// `conv1`, 3x3 from the image channels.
    public let conv1: Conv2D
    /// `bn1`, after the first ReLU.
    public let bn1: BatchNorm2D
    /// `conv2`, 3x3.
    public let conv2: Conv2D
    /// `bn2`, after the second ReLU; its output is the stem's.
    public let bn2: BatchNorm2D
    private let relu1 = ReLU()
    private let relu2 = ReLU()
    public let parameters: [Parameter]
    public let buffers: [Buffer]

    /// A stem named `name` ("stem") from `inChannels` to `filters` channels.
    public init(name: String, inChannels: Int, filters: Int, rng: inout RandomGenerator) {
        conv1 = Conv2D(name: joinName(name, "conv1"), inChannels: inChannels, outChannels: filters,
                       kernelSize: 3, padding: 1, rng: &rng)
        bn1 = BatchNorm2D(name: joinName(name, "bn1"), channels: filters)
        conv2 = Conv2D(name: joinName(name, "conv2"), inChannels: filters, outChannels: filters,
                       kernelSize: 3, padding: 1, rng: &rng)
        bn2 = BatchNorm2D(name: joinName(name, "bn2"), channels: filters)
        parameters = conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters
        buffers = conv1.buffers + bn1.buffers + conv2.buffers + bn2.buffers
    }

    /// s0 from an NHWC image batch.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        if mode == .inference {
            relu1.forgetTrainingCache()
            relu2.forgetTrainingCache()
            let h = bn1.forward(conv1.inference(x, then: .relu), mode: mode)
            return bn2.forward(conv2.inference(h, then: .relu), mode: mode)
        }
        let h = bn1.forward(relu1.forward(conv1.forward(x, mode: mode), mode: mode), mode: mode)
        return bn2.forward(relu2.forward(conv2.forward(h, mode: mode), mode: mode), mode: mode)
    }

    /// dL/dx from dL/ds0 (an empty tensor when conv1 skips its input gradient).
    public func backward(_ dy: Tensor) -> Tensor {
        let d = conv2.backward(relu2.backward(bn2.backward(dy)))
        return conv1.backward(relu1.backward(bn1.backward(d)))
    }
}

/// The ResUNet residual block: 1x1 -> BN -> ReLU -> 3x3 -> BN main path, 1x1 -> BN skip, ReLU of the sum.
public final class ResUNetBlock: Layer {
    /// `main_conv1`, 1x1.
    public let mainConv1: Conv2D
    /// `main_bn1`.
    public let mainBN1: BatchNorm2D
    /// `main_conv2`, 3x3.
    public let mainConv2: Conv2D
    /// `main_bn2`, before the sum.
    public let mainBN2: BatchNorm2D
    /// `skip_conv`, 1x1.
    public let skipConv: Conv2D
    /// `skip_bn`, before the sum.
    public let skipBN: BatchNorm2D
    private let relu1 = ReLU()
    private let relu2 = ReLU()
    private let main1: ConvBatchNorm, main2: ConvBatchNorm, skip: ConvBatchNorm
    public let parameters: [Parameter]
    public let buffers: [Buffer]

    /// A block named `name` ("enc1") from `inChannels` to `filters` channels.
    public init(name: String, inChannels: Int, filters: Int, rng: inout RandomGenerator) {
        mainConv1 = Conv2D(name: joinName(name, "main_conv1"), inChannels: inChannels, outChannels: filters,
                           kernelSize: 1, rng: &rng)
        mainBN1 = BatchNorm2D(name: joinName(name, "main_bn1"), channels: filters)
        mainConv2 = Conv2D(name: joinName(name, "main_conv2"), inChannels: filters, outChannels: filters,
                           kernelSize: 3, padding: 1, rng: &rng)
        mainBN2 = BatchNorm2D(name: joinName(name, "main_bn2"), channels: filters)
        skipConv = Conv2D(name: joinName(name, "skip_conv"), inChannels: inChannels, outChannels: filters,
                          kernelSize: 1, rng: &rng)
        skipBN = BatchNorm2D(name: joinName(name, "skip_bn"), channels: filters)
        main1 = ConvBatchNorm(mainConv1, mainBN1)
        main2 = ConvBatchNorm(mainConv2, mainBN2)
        skip = ConvBatchNorm(skipConv, skipBN)
        let parts: [any Layer] = [mainConv1, mainBN1, mainConv2, mainBN2, skipConv, skipBN]
        parameters = parts.flatMap(\.parameters)
        buffers = parts.flatMap(\.buffers)
    }

    /// ReLU(main(x) + skip(x)).
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        if mode == .inference {
            relu1.forgetTrainingCache()
            relu2.forgetTrainingCache()
            let s = skip.inference(x)
            return main2.inference(main1.inference(x, then: .relu), then: .addThenReLU(s))
        }
        let m = relu1.forward(mainBN1.forward(mainConv1.forward(x, mode: mode), mode: mode), mode: mode)
        var sum = mainBN2.forward(mainConv2.forward(m, mode: mode), mode: mode)
        sum.add(skipBN.forward(skipConv.forward(x, mode: mode), mode: mode))
        return relu2.forward(sum, mode: mode)
    }

    /// dL/dx = dx_main + dx_skip; accumulates the block's parameter gradients.
    public func backward(_ dy: Tensor) -> Tensor {
        let d = relu2.backward(dy)
        var dx = skipConv.backward(skipBN.backward(d))
        dx.add(mainConv1.backward(mainBN1.backward(relu1.backward(mainConv2.backward(mainBN2.backward(d))))))
        return dx
    }
}
