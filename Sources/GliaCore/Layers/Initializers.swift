// Weight initialisation. All draws come from the caller's RandomGenerator, so a seed fixes a model.
//
// He (Kaiming) normal for convolutions followed by ReLU: w ~ N(0, 2 / fanIn), fanIn = kh*kw*Cin.
// Glorot (Xavier) uniform for dense layers: w ~ U(-a, a), a = sqrt(6 / (fanIn + fanOut)).

/// Weight initialisation schemes.
public enum Initializer {
    /// He normal: N(0, 2/fanIn).
    public static func he(shape: [Int], fanIn: Int, using rng: inout RandomGenerator) -> Tensor {
        let std = (2.0 / Float(fanIn)).squareRoot()
        return Tensor(shape: shape) { _ in rng.nextNormal() * std }
    }

    /// Glorot uniform: U(-a, a), a = sqrt(6/(fanIn+fanOut)).
    public static func glorot(shape: [Int], fanIn: Int, fanOut: Int,
                              using rng: inout RandomGenerator) -> Tensor {
        let a = (6.0 / Float(fanIn + fanOut)).squareRoot()
        return Tensor(shape: shape) { _ in rng.uniform(-a, a) }
    }
}
