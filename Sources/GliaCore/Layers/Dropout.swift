// Dropout (inverted): in training, each element is kept with probability 1 − p and scaled by 1/(1 − p),
// so inference is the identity and needs no rescaling.
//
//   forward   y = x · m,  m_i = [u_i ≥ p] / (1 − p),  u_i ~ U[0, 1)      backward  dx = dy · m

/// Inverted dropout with its own seeded generator.
public final class Dropout: Layer {
    /// Chance that an element is zeroed in training.
    public let probability: Float
    /// The generator drawing the masks; part of a checkpoint if a run must resume bit-identically.
    public var rng: RandomGenerator
    private var mask: Tensor?
    /// None: this layer has no trainable state.
    public var parameters: [Parameter] { [] }

    /// `probability` is the chance that an element is zeroed, in [0, 1].
    public init(probability: Float, rng: RandomGenerator) {
        precondition(probability >= 0 && probability <= 1, "Dropout: probability \(probability) not in [0, 1]")
        self.probability = probability
        self.rng = rng
    }

    /// Forward pass (formula at the top of the file); a training forward keeps what `backward` needs.
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        guard mode == .training else {
            mask = nil
            return x
        }
        let keep: Float = probability < 1 ? 1 / (1 - probability) : 0
        let m = Tensor(shape: x.shape) { _ in rng.nextUniform() >= probability ? keep : 0 }
        mask = m
        return zipMap(x, m, Product.self)
    }

    /// dL/dx from dL/dy; needs a training-mode forward first.
    public func backward(_ dy: Tensor) -> Tensor {
        let m = trainingCache(mask, "Dropout")
        return zipMap(dy, m, Product.self)
    }
}
