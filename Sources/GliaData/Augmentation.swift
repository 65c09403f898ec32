// Augmentation: the same random geometry for an image and its mask, plus intensity jitter for the
// image alone. Geometry is one affine warp about the slice centre (horizontal flip, rotation,
// isotropic scale): bilinear for the image, nearest for the mask so it stays binary. Intensity:
// v' = clamp(v * contrast + brightness * 255), through a 256-entry table. Outside the source the
// warp reads black (the scanner background).
//
// Randomness: parameters are drawn from a RandomGenerator the caller seeds (the loader derives one
// per sample from seed, epoch and position), so a given seed always yields the same augmentations.
import GliaCore

/// Ranges to draw augmentation parameters from.
public struct AugmentationConfiguration: Sendable, Codable, Equatable {
    /// Probability of a horizontal flip.
    public var flipProbability: Float
    /// Rotation is uniform in +-this many degrees.
    public var maxRotationDegrees: Float
    /// Scale is uniform in 1 +- this.
    public var maxScaleChange: Float
    /// Brightness offset is uniform in +- this fraction of full scale.
    public var maxBrightness: Float
    /// Contrast factor is uniform in 1 +- this.
    public var maxContrastChange: Float

    public init(flipProbability: Float, maxRotationDegrees: Float, maxScaleChange: Float,
                maxBrightness: Float, maxContrastChange: Float) {
        self.flipProbability = flipProbability
        self.maxRotationDegrees = maxRotationDegrees
        self.maxScaleChange = maxScaleChange
        self.maxBrightness = maxBrightness
        self.maxContrastChange = maxContrastChange
    }

    /// Flip half the time, rotate +-15 degrees, scale +-5 %, brightness +-10 %, contrast +-10 %.
    public static let standard = AugmentationConfiguration(
        flipProbability: 0.5, maxRotationDegrees: 15, maxScaleChange: 0.05, maxBrightness: 0.1, maxContrastChange: 0.1)
}

/// One draw of augmentation parameters.
public struct AugmentationParameters: Sendable, Equatable {
    /// Mirror left-right.
    public var flip: Bool
    /// Rotation in degrees; positive turns the image clockwise on screen (rows run downwards).
    public var degrees: Float
    /// Isotropic scale factor (1.05 = 5 % larger).
    public var scale: Float
    /// Offset as a fraction of full scale (0.1 = +25.5 levels).
    public var brightness: Float
    /// Intensity factor (1.1 = 10 % more contrast).
    public var contrast: Float

    public init(flip: Bool, degrees: Float, scale: Float, brightness: Float, contrast: Float) {
        self.flip = flip
        self.degrees = degrees
        self.scale = scale
        self.brightness = brightness
        self.contrast = contrast
    }

    /// No change at all.
    public static let identity = AugmentationParameters(flip: false, degrees: 0, scale: 1, brightness: 0, contrast: 1)

    /// Draws parameters from `configuration`'s ranges (always five draws, in a fixed order).
    public static func draw(_ configuration: AugmentationConfiguration, using rng: inout RandomGenerator) -> AugmentationParameters {
        let c = configuration
        return AugmentationParameters(
            flip: rng.nextUniform() < c.flipProbability,
            degrees: rng.uniform(-c.maxRotationDegrees, c.maxRotationDegrees),
            scale: 1 + rng.uniform(-c.maxScaleChange, c.maxScaleChange),
            brightness: rng.uniform(-c.maxBrightness, c.maxBrightness),
            contrast: 1 + rng.uniform(-c.maxContrastChange, c.maxContrastChange))
    }
}

/// Applies augmentation parameters.
public enum Augmentation {
    /// `image` and `mask` under the same geometry; intensity jitter on the image only.
    public static func apply(_ p: AugmentationParameters, image: SliceImage, mask: SliceMask) -> (SliceImage, SliceMask) {
        precondition(image.width == mask.width && image.height == mask.height,
                     "image \(image.width)x\(image.height) and mask \(mask.width)x\(mask.height) differ")
        var outImage = image
        var outMask = mask
        let jitter = p.brightness != 0 || p.contrast != 1
        var table = (0...255).map { UInt8($0) }
        if jitter {
            for v in 0..<256 {
                table[v] = UInt8(min(255, max(0, (Float(v) * p.contrast + p.brightness * 255).rounded())))
            }
        }
        if p.flip || p.degrees != 0 || p.scale != 1 {
            let map = AffineMap.about(width: image.width, height: image.height, degrees: p.degrees, scale: p.scale, flip: p.flip)
            Resample.warpBilinear(image.pixels, width: image.width, height: image.height, channels: image.channels,
                                  into: &outImage.pixels, width: image.width, height: image.height, map: map,
                                  lookup: jitter ? table : nil)
            Resample.warpNearest(mask.pixels, width: mask.width, height: mask.height, channels: 1,
                                 into: &outMask.pixels, width: mask.width, height: mask.height, map: map)
        } else if jitter {
            table.withUnsafeBufferPointer { t in
                outImage.pixels.withUnsafeMutableBufferPointer { px in
                    for i in px.indices { px[i] = t[Int(px[i])] }
                }
            }
        }
        return (outImage, outMask)
    }
}
