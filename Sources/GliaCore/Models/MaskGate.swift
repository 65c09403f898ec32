// MaskGate: a slice classifier that shares the whole segmenter and reads its mask.
//
//   p  = ResUNet(x)                                per-pixel probabilities [N, H, W, 1] (frozen, inference)
//   f1 = ln(1 + A),  A = #{p > 0.5} * 65536 / (H W)  predicted tumor area, in pixels of a 256x256 slice
//   f2 = max p
//   z  = w1 f1 + w2 f2 + b                          "gate.weight" [2], "gate.bias" [1]
//   logits = [0, z]   so softmax(logits)[1] = sigmoid(z) = P(tumor)
// Backward (features fixed, the segmenter frozen; logit 0 is the constant 0): dz = dL/dlogit1,
// dw += dz f, db += dz.
//
// Why: pixel-level supervision teaches the segmenter where tumor is from every labelled pixel; a
// classifier trained from scratch on 0/1 slice labels alone sees far less signal. Reading the mask
// keeps the gate consistent with what the segmenter would draw, and costs three parameters to fit.
import Foundation

/// The MaskGate's structure: the segmenter it reads.
public struct MaskGateConfiguration: Codable, Equatable, Sendable {
    /// The shared ResUNet.
    public var segmenter: ResUNetConfiguration

    /// A gate over a ResUNet of `segmenter`'s structure.
    public init(segmenter: ResUNetConfiguration) {
        self.segmenter = segmenter
    }

    /// Checks the segmenter's structure and that it predicts one channel.
    public func validate() throws {
        try segmenter.validate()
        guard segmenter.outputChannels == 1 else {
            throw ModelConfigurationError.invalid(field: "maskgate.segmenter.outputChannels",
                                                  value: "\(segmenter.outputChannels)", reason: "the gate reads one tumor channel")
        }
    }
}

/// A tumor / no-tumor slice classifier on a frozen ResUNet's mask; logits [N, 2].
public final class MaskGate: Model {
    /// The shared segmenter (frozen: every parameter is marked so).
    public let segmenter: ResUNet
    /// w1, w2.
    public let weight: Parameter
    /// b.
    public let bias: Parameter
    public let gateConfiguration: MaskGateConfiguration
    public let parameters: [Parameter]
    public var buffers: [Buffer] { segmenter.buffers }
    private var cachedFeatures: Tensor?

    /// Number of features per slice.
    public static let featureCount = 2

    public var configuration: ModelConfiguration { .maskGate(gateConfiguration) }

    public var computesInputGradient: Bool {
        get { false }
        set { precondition(!newValue, "MaskGate has no input gradient (its segmenter is frozen)") }
    }

    /// A gate over a freshly initialised segmenter (load a checkpoint into it before use); the gate
    /// starts at w = (1, 1), b = -3, which already calls large confident masks tumor.
    public init(configuration: MaskGateConfiguration, seed: UInt64) throws {
        try configuration.validate()
        gateConfiguration = configuration
        segmenter = try ResUNet(configuration: configuration.segmenter, seed: seed)
        segmenter.setFrozen(true)
        weight = Parameter(name: "gate.weight", value: Tensor(shape: [2], scalars: [1, 1]))
        bias = Parameter(name: "gate.bias", value: Tensor(shape: [1], scalars: [-3]))
        parameters = segmenter.parameters + [weight, bias]
    }

    public func checkInput(shape: [Int]) throws { try segmenter.checkInput(shape: shape) }

    /// Features [N, 2] (f1, f2 above) of an NHWC batch; the segmenter runs in inference mode.
    public func features(_ x: Tensor) -> Tensor {
        Self.features(ofMasks: segmenter.forward(x, mode: .inference))
    }

    /// Features [N, 2] of mask probabilities [N, H, W, 1].
    public static func features(ofMasks p: Tensor) -> Tensor {
        let (n, h, w, _) = p.nhwc
        let side = h * w
        let scale = 65536 / Double(side)
        var out = Tensor(shape: [n, featureCount])
        p.scalars.withUnsafeBufferPointer { px in
            for i in 0..<n {
                var area = 0, peak: Float = 0
                for k in (i * side)..<((i + 1) * side) {
                    let v = px[k]
                    if v > 0.5 { area += 1 }
                    peak = max(peak, v)
                }
                out.scalars[i * featureCount] = Float(log(1 + Double(area) * scale))
                out.scalars[i * featureCount + 1] = peak
            }
        }
        return out
    }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        forwardHead(features(x), mode: mode)
    }

    /// Logits [N, 2] from features [N, 2]; a training forward keeps them for `backwardHead`.
    public func forwardHead(_ f: Tensor, mode: ForwardMode) -> Tensor {
        let n = f.shape[0]
        var logits = Tensor(shape: [n, 2])
        let w = weight.value.scalars, b = bias.value.scalars[0]
        for i in 0..<n {
            logits.scalars[i * 2 + 1] = w[0] * f.scalars[i * 2] + w[1] * f.scalars[i * 2 + 1] + b
        }
        cachedFeatures = mode == .training ? f : nil
        return logits
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor? {
        backwardHead(dy)
        return nil
    }

    /// Accumulates dL/dw and dL/db from dL/dLogits [N, 2] of the last training forward.
    public func backwardHead(_ dy: Tensor) {
        let f = trainingCache(cachedFeatures, "gate")
        for i in 0..<f.shape[0] {
            let dz = dy.scalars[i * 2 + 1]
            weight.grad.scalars[0] += dz * f.scalars[i * 2]
            weight.grad.scalars[1] += dz * f.scalars[i * 2 + 1]
            bias.grad.scalars[0] += dz
        }
    }
}
