// Bounds on model configurations read from files. A checkpoint's metadata is untrusted text: a
// configuration asking for 200000 filters or two billion hidden features would make Glia allocate
// terabytes before it could compare a single shape with the file. Two checks stop that:
// - `ModelLimits`: ranges for each field, so the size arithmetic itself cannot overflow;
// - `ModelConfiguration.minimumStateCount`: a lower bound on the values the model holds, which a
//   checkpoint must carry, so a configuration larger than its file is refused before anything is built.

/// Largest values a model configuration may hold (far above any model Glia trains).
public enum ModelLimits {
    /// ResNet stages and ResUNet levels.
    public static let stages = 8
    /// Residual blocks in one ResNet stage.
    public static let blocksPerStage = 1000
    /// Filters (channels) of one layer.
    public static let channels = 65536
    /// Channels of an input image.
    public static let inputChannels = 64
    /// Side of a classifier's square input.
    public static let imageSize = 4096
    /// Hidden features and classes of a classifier head.
    public static let features = 1 << 20
}

extension ModelConfiguration {
    /// A lower bound on the number of parameter and buffer values the model holds, computed without
    /// building it (the dominant 3x3 convolutions and dense layers only); `Int.max` when it overflows.
    public var minimumStateCount: Int {
        var total = CheckedCount()
        switch self {
        case .classifier(let c):
            total.add(Self.minimumCount(of: c.backbone))
            total.add(c.headInputFeatures, c.hiddenFeatures)
            total.add(c.hiddenFeatures, c.classes)
        case .resUNet(let c):
            total.add(Self.minimumCount(of: c))
        case .maskGate(let c):
            total.add(Self.minimumCount(of: c.segmenter))
        }
        return total.value
    }

    /// Stem 7x7 convolution plus each block's 3x3 convolution.
    private static func minimumCount(of c: ResNetConfiguration) -> Int {
        var total = CheckedCount()
        total.add(49, c.inputChannels, 64)
        for (stage, blocks) in c.blocksPerStage.enumerated() {
            let planes = c.planes(stage: stage)
            let width = c.block == .basic ? planes : planes * c.widthPerGroup / 64
            total.add(blocks, 9, width, width)
        }
        return total.value
    }

    /// The second 3x3 convolution of the stem, every encoder and every decoder block.
    private static func minimumCount(of c: ResUNetConfiguration) -> Int {
        var total = CheckedCount()
        for (level, filters) in c.filters.enumerated() {
            // Level 0: the stem and the last decoder; the bottleneck has no decoder of its width.
            total.add(level == c.filters.count - 1 ? 1 : 2, 9, filters, filters)
        }
        return total.value
    }
}

/// A sum of products that saturates at `Int.max` instead of trapping.
private struct CheckedCount {
    private(set) var value = 0

    /// Adds the product of `factors`.
    mutating func add(_ factors: Int...) {
        var product = 1
        for f in factors {
            let (p, overflow) = product.multipliedReportingOverflow(by: f)
            guard !overflow else { value = Int.max; return }
            product = p
        }
        let (sum, overflow) = value.addingReportingOverflow(product)
        value = overflow ? Int.max : sum
    }
}
