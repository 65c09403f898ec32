// Parameters, buffers and the Layer protocol: how every layer exposes its state.
//
// Style: each layer is a small final class with `forward` and `backward` side by side (llm.c).
// A training forward caches what its backward needs; `backward(dy)` returns dL/dx and *accumulates*
// (+=) into each parameter's `grad`, so gradients of a layer used twice add up. Optimizers zero them.
// Inference forwards cache nothing.
//
// Names are PyTorch state_dict names ("layer1.0.conv1.weight"), given to each layer at construction,
// so checkpoints map one to one onto torchvision and the parity fixtures.

/// Whether a forward pass trains (batch statistics, dropout, caches for backward) or infers.
public enum ForwardMode: Sendable {
    /// Batch statistics in BatchNorm, dropout active, activations kept for `backward`.
    case training
    /// Running statistics, no dropout, nothing kept.
    case inference
}

/// How a stored tensor maps to PyTorch's layout of the same state_dict entry.
public enum TorchLayout: Sendable {
    /// Same shape and element order as PyTorch.
    case same
    /// Glia OHWI [out, kh, kw, in]; PyTorch OIHW [out, in, kh, kw].
    case convolutionOHWI
}

/// A trainable tensor with its gradient.
public final class Parameter {
    /// PyTorch state_dict name, e.g. "enc1.main_conv1.weight".
    public let name: String
    /// The current values; every change (an optimizer step, a checkpoint load) advances `version`.
    public var value: Tensor { didSet { version &+= 1 } }
    /// Advances on every change to `value`, so values derived from it (BatchNorm folded into a
    /// convolution) know when to recompute.
    public private(set) var version = 0
    /// dLoss/dvalue, accumulated by backward passes; same shape as `value`.
    public var grad: Tensor
    /// Frozen parameters receive no gradient and are skipped by optimizers.
    public var isFrozen = false
    public let torchLayout: TorchLayout

    public init(name: String, value: Tensor, torchLayout: TorchLayout = .same) {
        self.name = name
        self.value = value
        self.grad = Tensor(shape: value.shape)
        self.torchLayout = torchLayout
    }
}

/// Non-trainable state saved with a model (BatchNorm running statistics, step counters).
public final class Buffer {
    /// PyTorch state_dict name, e.g. "bn1.running_mean".
    public let name: String
    /// The current values; every change (a training forward, a checkpoint load) advances `version`.
    public var value: Tensor { didSet { version &+= 1 } }
    /// Advances on every change to `value`, as `Parameter.version`.
    public private(set) var version = 0
    /// PyTorch stores some buffers as int64 (num_batches_tracked); Glia keeps them as Float.
    public let isInteger: Bool

    public init(name: String, value: Tensor, isInteger: Bool = false) {
        self.name = name
        self.value = value
        self.isInteger = isInteger
    }
}

/// Anything with parameters and buffers: layers, blocks, whole models.
public protocol Layer: AnyObject {
    /// Trainable tensors, in a stable order.
    var parameters: [Parameter] { get }
    /// Saved non-trainable tensors, in a stable order.
    var buffers: [Buffer] { get }
}

extension Layer {
    public var buffers: [Buffer] { [] }

    /// Zeroes every parameter's gradient.
    public func zeroGradients() {
        for p in parameters { p.grad.zero() }
    }

    /// Marks every parameter frozen (or not).
    public func setFrozen(_ frozen: Bool) {
        for p in parameters { p.isFrozen = frozen }
    }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}

/// Joins a prefix and a name the way PyTorch does ("layer1" + "0" -> "layer1.0").
public func joinName(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : "\(prefix).\(name)"
}

/// What a training forward cached for `backward`; stops with a clear message when the last forward
/// was an inference one (or there was none), which is a programming error.
func trainingCache<T>(_ value: T?, _ layer: String) -> T {
    guard let value else {
        preconditionFailure("\(layer).backward needs a training-mode forward first (the last forward was inference or none)")
    }
    return value
}
