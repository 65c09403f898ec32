// ResUNet segmenter, exactly the parity fixtures' model (fixtures/parity/README.md, generate.py):
//   s0 = stem(x)                          filters[0]
//   s1 = enc1(maxpool2(s0)), ...          filters[1], ..., one 2x2 max-pool per level
//   b  = bottleneck(maxpool2(s_{L-2}))    filters[L-1]
//   d  = dec1(cat[up2(b), s_{L-2}]), ..., decL-1(cat[up2(d), s0])   (nearest upsampling, upsampled first)
//   p  = sigmoid(head_1x1(d))
// Input NHWC [N, H, W, Cin], H and W multiples of 2^(L-1); output probabilities NHWC [N, H, W, Cout].
//
// Backward runs the same graph in reverse; each skip s_i receives the gradient of its concatenation
// slice plus the gradient coming back through the max-pool above it.

/// The ResUNet segmenter; forward returns sigmoid probabilities.
public final class ResUNet: Model {
    /// The structure of this network.
    public let resUNetConfiguration: ResUNetConfiguration
    /// `stem`.
    public let stem: ResUNetStem
    /// `enc1` ... and, last, `bottleneck`.
    public let encoders: [ResUNetBlock]
    /// `dec1` (deepest) ... `dec{L-1}` (full resolution).
    public let decoders: [ResUNetBlock]
    /// `head`: 1x1 convolution to the output channels.
    public let head: Conv2D
    private let pools: [MaxPool2D]
    private let ups: [Upsample2x]
    private let concats: [Concat]
    private let sigmoid = Sigmoid()
    public let parameters: [Parameter]
    public let buffers: [Buffer]

    public var configuration: ModelConfiguration { .resUNet(resUNetConfiguration) }

    public var computesInputGradient: Bool {
        get { stem.conv1.computesInputGradient }
        set { stem.conv1.computesInputGradient = newValue }
    }

    /// A freshly initialised ResUNet; `seed` fixes every weight.
    public init(configuration: ResUNetConfiguration, seed: UInt64) throws {
        try configuration.validate()
        resUNetConfiguration = configuration
        var rng = RandomGenerator(seed: seed)
        let f = configuration.filters
        let levels = f.count
        stem = ResUNetStem(name: "stem", inChannels: configuration.inputChannels, filters: f[0], rng: &rng)
        stem.conv1.computesInputGradient = false
        encoders = (1..<levels).map { i in
            ResUNetBlock(name: i == levels - 1 ? "bottleneck" : "enc\(i)", inChannels: f[i - 1],
                         filters: f[i], rng: &rng)
        }
        decoders = (1..<levels).map { j in
            ResUNetBlock(name: "dec\(j)", inChannels: f[levels - j] + f[levels - 1 - j],
                         filters: f[levels - 1 - j], rng: &rng)
        }
        head = Conv2D(name: "head", inChannels: f[0], outChannels: configuration.outputChannels,
                      kernelSize: 1, rng: &rng)
        pools = (1..<levels).map { _ in MaxPool2D(kernelSize: 2, stride: 2) }
        ups = (1..<levels).map { _ in Upsample2x() }
        concats = (1..<levels).map { _ in Concat() }
        let parts: [any Layer] = [stem] + encoders + decoders + [head]
        parameters = parts.flatMap(\.parameters)
        buffers = parts.flatMap(\.buffers)
    }

    public func checkInput(shape: [Int]) throws {
        let c = resUNetConfiguration, m = c.sizeMultiple
        guard shape.count == 4, shape[0] > 0, shape[3] == c.inputChannels,
              shape[1] > 0, shape[2] > 0, shape[1] % m == 0, shape[2] % m == 0 else {
            throw ModelInputError(shape: shape, requirement: "[N, H, W, \(c.inputChannels)] with N >= 1 and H, W "
                                  + "positive multiples of \(m)")
        }
    }

    /// Probabilities NHWC [N, H, W, outputChannels] for an NHWC batch.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        var skips = [stem.forward(x, mode: mode)]
        var h = skips[0]
        for (i, encoder) in encoders.enumerated() {
            h = encoder.forward(pools[i].forward(h, mode: mode), mode: mode)
            if i < encoders.count - 1 { skips.append(h) }
        }
        for (j, decoder) in decoders.enumerated() {
            let skip = skips.removeLast()
            h = decoder.forward(concats[j].forward([ups[j].forward(h, mode: mode), skip], mode: mode), mode: mode)
        }
        return sigmoid.forward(head.forward(h, mode: mode), mode: mode)
    }

    /// Back-propagates dL/dProbabilities; returns dL/dx when `computesInputGradient`, else nil.
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor? {
        var d = head.backward(sigmoid.backward(dy))
        // dSkips[i]: gradient reaching skip s_i through its concatenation (decoder L-2-i).
        var dSkips = [Tensor](repeating: Tensor(shape: [0]), count: encoders.count)
        for j in decoders.indices.reversed() {
            let parts = concats[j].backward(decoders[j].backward(d))
            dSkips[encoders.count - 1 - j] = parts[1]
            d = ups[j].backward(parts[0])
        }
        for i in encoders.indices.reversed() {
            d = pools[i].backward(encoders[i].backward(d))
            d.add(dSkips[i])
            dSkips[i] = Tensor(shape: [0])
        }
        let dx = stem.backward(d)
        return computesInputGradient ? dx : nil
    }
}
