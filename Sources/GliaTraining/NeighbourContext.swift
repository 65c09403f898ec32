// NeighbourContext: the neighbouring slices' mask evidence that a MaskGate with a neighbour reach
// reads (MaskGate.swift), for callers that meet slices one at a time (the workstation's background
// predictions, `glia predict`); `TwoStagePipeline.predictVolume` for those that hold a whole volume
// (`glia export nifti`; `glia eval` holds each patient's slices in its evaluator).
//
// Evidence is kept per patient and slice number for the context's life (8 bytes a slice); a
// neighbour is loaded and run through the gate only the first time a slice within reach asks for it.
// A neighbour that cannot be loaded counts as absent, as at the ends of a volume.
import Foundation
import GliaCore
import GliaData

/// Known mask evidence by patient and slice number, filled on demand.
public struct NeighbourContext {
    private var known: [String: [Int: MaskEvidence]] = [:]

    /// An empty context.
    public init() {}

    /// The evidence recorded for a slice, if any.
    public func evidence(patient: String, slice: Int) -> MaskEvidence? { known[patient]?[slice] }

    /// Records a slice's evidence (from `SlicePrediction.evidence`).
    public mutating func record(_ evidence: MaskEvidence, patient: String, slice: Int) {
        known[patient, default: [:]][slice] = evidence
    }

    /// The neighbour area (`MaskEvidence.neighbourArea`) of `slice` of `patient` for `pipeline`'s
    /// gate, loading the neighbours not yet known with `load` (nil: no such slice; one of another
    /// size than `image`, the slice itself, counts as absent); nil when the gate reads no neighbours
    /// or none is known.
    public mutating func neighbourArea(patient: String, slice: Int, image: SliceImage, pipeline: TwoStagePipeline,
                                       load: (Int) -> SliceImage?) -> Float? {
        let reach = pipeline.neighbourReach
        guard reach > 0 else { return nil }
        let around = (slice - reach...slice + reach).filter { $0 != slice }
        let missing = around.filter { known[patient]?[$0] == nil }.compactMap { n in
            load(n).flatMap { $0.channels == 3 && $0.width == image.width && $0.height == image.height ? (n, $0) : nil }
        }
        if !missing.isEmpty, let found = pipeline.gatePass(TwoStagePipeline.batch(missing.map(\.1)))?.evidence {
            for ((n, _), e) in zip(missing, found) { record(e, patient: patient, slice: n) }
        }
        return MaskEvidence.neighbourArea(of: slice, in: known[patient] ?? [:], reach: reach)
    }
}

extension TwoStagePipeline {
    /// RGB slices of one size (the first's) as a unit-range NHWC batch, the pipeline's input.
    public static func batch(_ images: [SliceImage]) -> Tensor {
        let first = images[0], per = first.height * first.width * 3
        var out = Tensor(shape: [images.count, first.height, first.width, 3])
        out.scalars.withUnsafeMutableBufferPointer { all in
            for (i, image) in images.enumerated() {
                Normalization.unitRange.write(image, into: UnsafeMutableBufferPointer(rebasing: all[(i * per)..<((i + 1) * per)]))
            }
        }
        return out
    }

    /// Both stages over one volume's slices (`sliceNumbers`: their places in it), in batches of 16.
    /// A gate that reads neighbours reads them within the volume: every slice's evidence first, then
    /// the decisions (the gate's segmenter then runs twice per slice).
    public func predictVolume(_ images: [SliceImage], sliceNumbers: [Int]) -> [SlicePrediction] {
        let chunks = stride(from: 0, to: images.count, by: 16).map { $0..<min($0 + 16, images.count) }
        var areas: [Float?]?
        if neighbourReach > 0 {
            var volume: [Int: MaskEvidence] = [:]
            for chunk in chunks {
                for (i, e) in zip(chunk, gatePass(Self.batch(Array(images[chunk])))?.evidence ?? []) { volume[sliceNumbers[i]] = e }
            }
            areas = sliceNumbers.map { MaskEvidence.neighbourArea(of: $0, in: volume, reach: neighbourReach) }
        }
        return chunks.flatMap { chunk in
            predict(Self.batch(Array(images[chunk])), neighbourAreas: areas.map { Array($0[chunk]) })
        }
    }
}
