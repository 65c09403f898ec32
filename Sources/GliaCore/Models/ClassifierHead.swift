// The seed's classifier head, named as the fixtures' `head` nn.Sequential:
//   pool (AvgPool kxk) -> flatten -> fc1 (Dense hidden) -> ReLU -> drop (Dropout p) -> fc2 (Dense classes)
// Input: backbone features NHWC [N, h, w, C]; output logits [N, classes] (softmax belongs to the loss
// or to the caller). Flatten orders features (c, y, x) as PyTorch does, so fc1's weight loads as is.

/// Average pool, flatten, two dense layers with ReLU and dropout between them.
public final class ClassifierHead: Layer {
    private let pool: AvgPool2D
    private let flatten = Flatten()
    /// `head.fc1`: features -> hidden.
    public let fc1: Dense
    private let relu = ReLU()
    private let drop: Dropout
    /// `head.fc2`: hidden -> logits.
    public let fc2: Dense
    public let parameters: [Parameter]
    public let buffers: [Buffer]

    /// A head for `configuration`, its layers named `<prefix>.fc1` and `<prefix>.fc2`.
    public init(configuration c: ClassifierConfiguration, prefix: String = "head", rng: inout RandomGenerator) {
        pool = AvgPool2D(kernelSize: c.poolSize)
        fc1 = Dense(name: joinName(prefix, "fc1"), inFeatures: c.headInputFeatures,
                    outFeatures: c.hiddenFeatures, rng: &rng)
        drop = Dropout(probability: Float(c.dropout), rng: rng.fork(1))
        fc2 = Dense(name: joinName(prefix, "fc2"), inFeatures: c.hiddenFeatures, outFeatures: c.classes, rng: &rng)
        parameters = fc1.parameters + fc2.parameters
        buffers = fc1.buffers + fc2.buffers
    }

    /// The dropout layer's random stream; checkpoints save it so a resumed run drops the same units.
    public var dropoutGenerator: RandomGenerator {
        get { drop.rng }
        set { drop.rng = newValue }
    }

    /// Logits [N, classes] from features NHWC [N, h, w, C].
    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        var h = flatten.forward(pool.forward(x, mode: mode), mode: mode)
        h = drop.forward(relu.forward(fc1.forward(h, mode: mode), mode: mode), mode: mode)
        return fc2.forward(h, mode: mode)
    }

    /// dL/dFeatures from dL/dLogits; accumulates fc1/fc2 gradients.
    public func backward(_ dy: Tensor) -> Tensor {
        let d = relu.backward(drop.backward(fc2.backward(dy)))
        return pool.backward(flatten.backward(fc1.backward(d)))
    }
}
