// Normalization: 8-bit slices to the floats the models see.
// - unitRange: v / 255, in [0, 1];
// - perImage: (v - mean) / max(std, 1 / sqrt(n)) over all pixels and channels of the one image
//   (as tf.image.per_image_standardization), so a blank image does not divide by zero.

/// How slice pixels become model inputs.
public enum Normalization: String, Sendable, Codable, CaseIterable {
    /// Scale to [0, 1].
    case unitRange = "unit"
    /// Per-image standardisation: zero mean, unit variance over the whole image.
    case perImage = "standardize"

    /// Writes `image`'s pixels, normalised, into `out` (same HWC order, `pixels.count` floats).
    public func write(_ image: SliceImage, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count == image.pixels.count, "normalisation target has \(out.count) floats, image \(image.pixels.count)")
        image.pixels.withUnsafeBufferPointer { px in
            switch self {
            case .unitRange:
                for i in px.indices { out[i] = Float(px[i]) * (1 / 255) }
            case .perImage:
                var sum = 0, sumSquares = 0
                for v in px {
                    sum += Int(v)
                    sumSquares += Int(v) * Int(v)
                }
                let n = Double(px.count)
                let mean = Double(sum) / n
                let variance = max(0, Double(sumSquares) / n - mean * mean)
                let scale = Float(1 / max(variance.squareRoot(), 1 / n.squareRoot()))
                let m = Float(mean)
                for i in px.indices { out[i] = (Float(px[i]) - m) * scale }
            }
        }
    }

    /// `image` normalised as a new array (HWC).
    public func apply(_ image: SliceImage) -> [Float] {
        var out = [Float](repeating: 0, count: image.pixels.count)
        out.withUnsafeMutableBufferPointer { write(image, into: $0) }
        return out
    }
}
