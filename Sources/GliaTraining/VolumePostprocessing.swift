// Volume post-processing of predicted masks: a patient's binary slice masks are stacked in slice order
// into one volume and cleaned in 3-D before the volume is scored.
//
// Largest connected component follows Buda et al.'s evaluation: components are labelled as
// scipy.ndimage.label does by default (6-connectivity: voxels sharing a face, across slices too),
// and only the component with most voxels is kept. Scattered false positives away from the tumor
// disappear; a second true lesion does too, which is the price the paper accepts. Ties go to the
// component met first in (slice, row, column) order, as numpy's argmax over scipy's raster-order
// labels picks it.

/// How a patient's predicted volume is cleaned before it is scored.
public enum VolumePostprocessing: String, Codable, Sendable, CaseIterable {
    /// The masks as the segmenter drew them.
    case none
    /// Only the largest 6-connected component of the stacked volume.
    case largestComponent = "largest-component"

    /// `slices`: one patient's masks in slice order, each `width` pixels wide and all of one size
    /// (nonzero = foreground). Returns masks of the same sizes holding 0 and 1.
    public func apply(_ slices: [[UInt8]], width: Int) -> [[UInt8]] {
        switch self {
        case .none: return slices
        case .largestComponent: return Self.largestComponent(slices, width: width)
        }
    }

    /// Keeps the largest 6-connected foreground component of the stacked `slices`; a volume without
    /// foreground comes back empty.
    static func largestComponent(_ slices: [[UInt8]], width: Int) -> [[UInt8]] {
        guard let plane = slices.first?.count, plane > 0 else { return slices }
        precondition(width > 0 && plane % width == 0 && slices.allSatisfy { $0.count == plane },
                     "volume slices must share one size, a multiple of width \(width)")
        let height = plane / width, depth = slices.count
        let volume = slices.flatMap { $0 }
        // 0: unvisited background or foreground; a component's voxels carry its 1-based label.
        var labels = [Int32](repeating: 0, count: volume.count)
        var stack: [Int] = []
        var best: (label: Int32, size: Int) = (0, 0)
        var next: Int32 = 0
        func visit(_ n: Int) {
            if volume[n] != 0 && labels[n] == 0 {
                labels[n] = next
                stack.append(n)
            }
        }
        for seed in volume.indices where volume[seed] != 0 && labels[seed] == 0 {
            next += 1
            labels[seed] = next
            stack.append(seed)
            var size = 0
            // Iterative flood fill: a recursive one would overflow the stack on a large tumor.
            while let v = stack.popLast() {
                size += 1
                let z = v / plane, y = (v % plane) / width, x = v % width
                // The six face neighbours, those inside the volume.
                if x > 0 { visit(v - 1) }
                if x < width - 1 { visit(v + 1) }
                if y > 0 { visit(v - width) }
                if y < height - 1 { visit(v + width) }
                if z > 0 { visit(v - plane) }
                if z < depth - 1 { visit(v + plane) }
            }
            if size > best.size { best = (next, size) }
        }
        return (0..<depth).map { z in
            labels[(z * plane)..<((z + 1) * plane)].map { best.size > 0 && $0 == best.label ? 1 : 0 }
        }
    }
}
