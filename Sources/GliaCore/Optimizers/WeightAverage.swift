// Weight averaging: an exponential moving average of a model's parameters and float buffers,
// kept beside the model during training and used in its place for validation and checkpoints.
//
// After optimisation step t (1-based):
//   d_t      = min(decay, (1 + t) / (10 + t))        (warm-up, as TensorFlow's ExponentialMovingAverage)
//   avg     <- d_t * avg + (1 - d_t) * value
// so the first steps are not dominated by the random initialisation. BatchNorm's running mean and
// variance are averaged the same way (as timm's ModelEmaV2 does); integer buffers
// (num_batches_tracked) are copied. Why: a segmenter's per-volume validation Dice swings by 0.1-0.2
// from epoch to epoch at a constant rate; the average of the last few hundred steps swings far less
// (Models/README.md has the measured curves; it made the choice of `best` steadier, not better).

/// A moving average of a layer's parameters and float buffers, in the layer's own order.
public final class WeightAverage {
    /// Upper bound of the per-step decay; the average spans about 1 / (1 - decay) steps.
    public let decay: Double
    /// Steps averaged so far.
    public private(set) var steps: Int
    /// Averaged values, one per parameter then one per buffer, in `layer`'s order.
    private var values: [Tensor]

    /// A fresh average starting at `layer`'s current values. `decay` must be in (0, 1).
    public init(of layer: any Layer, decay: Double) {
        precondition(decay > 0 && decay < 1, "weight average decay \(decay) is not in (0, 1)")
        self.decay = decay
        steps = 0
        values = layer.parameters.map(\.value) + layer.buffers.map(\.value)
    }

    /// Folds `layer`'s current values into the average (call once after each optimiser step).
    public func update(from layer: any Layer) {
        steps += 1
        let d = Float(min(decay, Double(1 + steps) / Double(10 + steps)))
        let current = Self.state(of: layer)
        precondition(current.count == values.count, "weight average of \(values.count) tensors fed \(current.count)")
        for (i, (value, isInteger)) in current.enumerated() {
            precondition(value.count == values[i].count, "weight average tensor \(i): \(value.shape) vs \(values[i].shape)")
            if isInteger {
                values[i] = value
                continue
            }
            values[i].scalars.withUnsafeMutableBufferPointer { avg in
                value.scalars.withUnsafeBufferPointer { v in
                    for j in avg.indices { avg[j] = d * avg[j] + (1 - d) * v[j] }
                }
            }
        }
    }

    /// Exchanges the layer's values with the average's: call once to put the averaged weights in
    /// the model, and again to put the trained ones back. Gradients and optimiser state stay.
    public func swap(with layer: any Layer) {
        var i = 0
        for p in layer.parameters {
            Swift.swap(&p.value, &values[i])
            i += 1
        }
        for b in layer.buffers {
            Swift.swap(&b.value, &values[i])
            i += 1
        }
    }

    /// Runs `body` with the averaged weights in `layer`, putting the trained ones back after,
    /// even when `body` throws.
    public func withAveragedWeights<T>(in layer: any Layer, _ body: () throws -> T) rethrows -> T {
        swap(with: layer)
        defer { swap(with: layer) }
        return try body()
    }

    /// Restores an average: `averaged` are its values (in `layer`'s order), `steps` how many steps
    /// it has seen.
    public func restore(values averaged: [Tensor], steps: Int) throws {
        guard averaged.count == values.count, steps >= 0 else {
            throw WeightAverageError("weight average: \(averaged.count) tensors and \(steps) steps for a model of \(values.count)")
        }
        for (i, v) in averaged.enumerated() where v.shape != values[i].shape {
            throw WeightAverageError("weight average: tensor \(i) is \(v.shape), the model's \(values[i].shape)")
        }
        values = averaged
        self.steps = steps
    }

    private static func state(of layer: any Layer) -> [(Tensor, Bool)] {
        layer.parameters.map { ($0.value, false) } + layer.buffers.map { ($0.value, $0.isInteger) }
    }
}

/// A weight average that cannot be restored as asked.
public struct WeightAverageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
