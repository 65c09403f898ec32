// Exporting patients as NIfTI-1 volumes for ITK-SNAP and 3D Slicer: the stacked slices of each image
// channel, the ground-truth mask and the two-stage pipeline's predicted mask, BraTS-style:
//
//   OUT/<patient>/<patient>_t1.nii.gz      channel 0 (the LGG slices' pre-contrast), uint8
//   OUT/<patient>/<patient>_flair.nii.gz   channel 1 (FLAIR), uint8
//   OUT/<patient>/<patient>_t1ce.nii.gz    channel 2 (post-contrast), uint8
//   OUT/<patient>/<patient>_seg.nii.gz     ground truth, uint8 0/1
//   OUT/<patient>/<patient>_pred.nii.gz    prediction (what `glia eval` scores: gated, post-processed), uint8 0/1
//
// Geometry: voxel (i, j, k) is column i, row j of slice k + 1, at 256x256 (the slices as Glia sees
// them). The TIFFs carry no spacing or orientation, so both come from options, with defaults
// `pixelSpacing` 1 mm and `sliceSpacing` 1 mm. The affine assumes radiological axial slices (columns
// run from the patient's right to left, rows from anterior to posterior, slice numbers upwards) and
// centres the volume on the origin: x = -dx (i - (nx-1)/2), y = -dy (j - (ny-1)/2), z = dz (k - (nz-1)/2),
// stored as sform and qform, so the viewers show each slice as Glia's viewer does. This folder reads
// back as a Glia dataset (NIfTIDataset) with the same slices.
import Foundation
import GliaCore
import GliaData

/// Options of a NIfTI export.
public struct NIfTIExportOptions: Sendable, Equatable {
    /// In-plane voxel size, mm.
    public var pixelSpacing: Double
    /// Distance between slices, mm.
    public var sliceSpacing: Double
    /// The image channels written (indices into `channelNames`); all three by default.
    public var channels: [Int]

    public init(pixelSpacing: Double = 1, sliceSpacing: Double = 1, channels: [Int] = [0, 1, 2]) {
        self.pixelSpacing = pixelSpacing
        self.sliceSpacing = sliceSpacing
        self.channels = channels
    }

    /// The modality suffix of each channel of the LGG slices (NIfTIDatasetOptions.standard reads them back).
    public static let channelNames = NIfTIDatasetOptions.standard.channels
}

/// Writes patients as NIfTI volumes.
public enum NIfTIExport {
    /// The voxel-to-world affine of a `size` = (nx, ny, nz) export (see the file comment).
    public static func affine(size: [Int], options: NIfTIExportOptions) -> [Double] {
        let (dx, dz) = (options.pixelSpacing, options.sliceSpacing)
        let centre = size.map { Double($0 - 1) / 2 }
        return [-dx, 0, 0, dx * centre[0],
                0, -dx, 0, dx * centre[1],
                0, 0, dz, -dz * centre[2],
                0, 0, 0, 1]
    }

    /// Writes `patient`'s volumes into `folder/<patient>/`, with the prediction when a pipeline with
    /// a segmenter is given; returns the files written.
    @discardableResult
    public static func write(_ patient: Patient, to folder: URL, pipeline: TwoStagePipeline?,
                             options: NIfTIExportOptions = NIfTIExportOptions()) throws -> [URL] {
        guard options.pixelSpacing > 0, options.pixelSpacing.isFinite, options.sliceSpacing > 0, options.sliceSpacing.isFinite else {
            throw TrainingDataError("spacing \(options.pixelSpacing) x \(options.sliceSpacing) mm: both must be positive")
        }
        let slices = patient.slices.filter(\.isUsable)
        guard !slices.isEmpty else { throw TrainingDataError("patient \(patient.id) has no usable slices") }
        let side = TIFFImage.sliceSide
        var images: [SliceImage] = [], truth: [[UInt8]] = []
        for record in slices {
            images.append(try TIFFImage.readImage(record.imageURL).value)
            truth.append(try TIFFImage.readMask(record.maskURL!).value.pixels)
        }
        let out = folder.appendingPathComponent(patient.id)
        try OutputFolder.create(out)
        let size = [side, side, slices.count]
        let spacing = [options.pixelSpacing, options.pixelSpacing, options.sliceSpacing]
        let affine = affine(size: size, options: options)
        func save(_ suffix: String, _ voxels: [Float]) throws -> URL {
            let url = out.appendingPathComponent("\(patient.id)_\(suffix).nii.gz")
            try NIfTIVolume(dimensions: size, spacing: spacing, affine: affine, dataType: .uint8, voxels: voxels).write(to: url)
            return url
        }
        var written: [URL] = []
        for c in options.channels {
            written.append(try save(NIfTIExportOptions.channelNames[c],
                                    images.flatMap { image in stride(from: c, to: image.pixels.count, by: 3).map { Float(image.pixels[$0]) } }))
        }
        written.append(try save("seg", truth.flatMap { $0.map(Float.init) }))
        if let pipeline, pipeline.segmenter != nil {
            written.append(try save("pred", predictedVolume(images, sliceNumbers: slices.map(\.sliceNumber), pipeline: pipeline).flatMap { $0.map(Float.init) }))
        }
        return written
    }

    /// The pipeline's masks for a patient's slices, post-processed as a volume.
    static func predictedVolume(_ images: [SliceImage], sliceNumbers: [Int], pipeline: TwoStagePipeline) -> [[UInt8]] {
        let empty = [UInt8](repeating: 0, count: TIFFImage.sliceSide * TIFFImage.sliceSide)
        let masks = pipeline.predictVolume(images, sliceNumbers: sliceNumbers).map { $0.mask?.pixels ?? empty }
        return pipeline.postprocessing.apply(masks, width: TIFFImage.sliceSide)
    }
}
