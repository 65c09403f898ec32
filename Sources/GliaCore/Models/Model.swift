// Model: what training, evaluation and checkpoints need from a whole network.
//
// A model is a Layer (parameters and buffers in PyTorch state_dict order, with PyTorch names) with
// an explicit forward and backward; there is no autograd. Protocol of one training step:
//   zeroGradients(); y = forward(x, mode: .training); (loss, dy) = loss(y); backward(dy); optimizer step
// `forward(.training)` keeps what `backward` needs (each layer holds it until its next forward), so
// at most one training forward is in flight per model. `forward(.inference)` keeps nothing new.
// Layers stop the program on a shape mismatch, so input from outside (files, users) goes through
// `checkInput(shape:)` first, which throws instead.
import Foundation

/// A whole network: a configuration, parameters, buffers, forward and backward.
public protocol Model: Layer {
    /// The structure this model was built from; stored in checkpoints.
    var configuration: ModelConfiguration { get }

    /// Runs the network on an NHWC batch `[N, H, W, C]`.
    func forward(_ x: Tensor, mode: ForwardMode) -> Tensor

    /// Back-propagates dLoss/dOutput through the last training forward, accumulating (+=) every
    /// unfrozen parameter's gradient. Returns dLoss/dInput when `computesInputGradient` is set,
    /// otherwise nil (the first convolution then skips that work).
    @discardableResult
    func backward(_ dy: Tensor) -> Tensor?

    /// Whether `backward` computes the gradient with respect to the input image (off by default:
    /// training never needs it; tests and saliency maps do).
    var computesInputGradient: Bool { get set }

    /// Throws `ModelInputError` unless `shape` is an NHWC batch `forward` accepts.
    func checkInput(shape: [Int]) throws
}

/// An input batch a model cannot run, in one line.
public struct ModelInputError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The offending NHWC shape.
    public var shape: [Int]
    /// What the model needs instead.
    public var requirement: String

    public init(shape: [Int], requirement: String) {
        self.shape = shape
        self.requirement = requirement
    }

    public var description: String { "input shape \(shape) does not fit the model: \(requirement)" }
    public var errorDescription: String? { description }
}

extension Model {
    /// The PyTorch state_dict names of every parameter, then every buffer.
    public var stateNames: [String] { parameters.map(\.name) + buffers.map(\.name) }

    /// The parameters that train (not frozen): what a step needs to zero and update. With a frozen
    /// ResNet-50 backbone that is the head's 2.1 M of 25.6 M values, so zeroing only these keeps a
    /// head-only step from clearing 94 MB of gradients that stay zero anyway.
    public var trainableParameters: [Parameter] { parameters.filter { !$0.isFrozen } }
}
