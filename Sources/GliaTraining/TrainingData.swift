// The data of one run: index, patient-level split (kept in the run folder), and loaders for the
// training and validation patients, at the model's input size.
//
// Images are decoded at 256x256 by the loader and reduced here by area averaging when a run trains
// at a smaller size (a divisor of 256); masks are reduced the same way and re-binarised at 0.5.
import Foundation
import GliaCore
import GliaData

/// Errors in a run's data, naming the path or value.
public struct TrainingDataError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// Index, split and loaders of a run.
public final class TrainingData: Sendable {
    public let index: DatasetIndex
    public let split: DatasetSplit
    public let train: Loader
    public let validation: Loader
    /// Side of the square images the model sees.
    public let imageSize: Int
    /// Slices of the training and validation patients left out as undecodable.
    public let skipped: [DataProblem]

    /// Loads the data of a run. The split is read from `splitURL` when that file exists (a resumed
    /// run), else from the configuration's split file, else made from its fractions and seed; a new
    /// split is written to `splitURL`.
    public init(configuration c: RunConfiguration, splitURL: URL) throws {
        let side = TIFFImage.sliceSide
        guard c.imageSize > 0, side % c.imageSize == 0 else {
            throw TrainingDataError("image size \(c.imageSize) must divide \(side) (e.g. 256, 128, 64)")
        }
        index = try DatasetIndex.load(URL(fileURLWithPath: c.dataPath))
        guard !index.usableSlices.isEmpty else {
            throw TrainingDataError("\(c.dataPath): no usable slices (run 'glia data check \(c.dataPath)')")
        }
        if FileManager.default.fileExists(atPath: splitURL.path) {
            split = try DatasetSplit.read(from: splitURL)
        } else if let given = c.splitPath {
            split = try DatasetSplit.read(from: URL(fileURLWithPath: given))
            try split.write(to: splitURL)
        } else {
            let test = 1 - c.trainFraction - c.validationFraction
            split = try DatasetSplit.make(index, train: c.trainFraction, validation: c.validationFraction,
                                          test: max(0, test), seed: c.seed)
            try split.write(to: splitURL)
        }
        guard !split.train.isEmpty, !split.validation.isEmpty else {
            throw TrainingDataError("\(c.dataPath): \(index.patients.count) patients are too few for a split with "
                + "training and validation patients")
        }
        let trainConfig = LoaderConfiguration(
            batchSize: c.batchSize, shuffle: true, augmentation: c.augment ? .standard : nil,
            normalization: .unitRange, seed: c.seed, tumorFraction: c.tumorFraction > 0 ? c.tumorFraction : nil)
        train = Loader(index: index, split: split, part: .train, configuration: trainConfig)
        validation = Loader(index: index, split: split, part: .validation,
                            configuration: .evaluation(batchSize: c.batchSize))
        imageSize = c.imageSize
        skipped = train.skipped + validation.skipped
        guard train.batchCount > 0 else {
            throw TrainingDataError("\(c.dataPath): the training patients have fewer slices than one batch of \(c.batchSize)")
        }
    }

    /// A batch at the model's input size: images [N,s,s,3], masks [N,s,s,1] (0/1), labels.
    public func resized(_ batch: Batch) -> Batch {
        guard batch.images.shape[1] != imageSize else { return batch }
        var out = batch
        out.images = areaDownsample(batch.images, toSide: imageSize)
        var masks = areaDownsample(batch.masks, toSide: imageSize)
        masks.scalars.withUnsafeMutableBufferPointer { m in
            for i in m.indices { m[i] = m[i] >= 0.5 ? 1 : 0 }
        }
        out.masks = masks
        return out
    }
}

/// An NHWC batch reduced to `side` x `side` by area averaging (`side` divides its side): how every
/// model trained below 256 px sees its images, in training and at inference alike.
func areaDownsample(_ x: Tensor, toSide side: Int) -> Tensor {
    let factor = x.shape[1] / side
    return factor > 1 ? AvgPool2D(kernelSize: factor).forward(x, mode: .inference) : x
}
