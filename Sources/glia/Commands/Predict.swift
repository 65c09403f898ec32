// glia predict: tumor probability per slice and a mask TIFF per flagged slice.
import ArgumentParser
import Foundation
import GliaCore
import GliaData
import GliaTraining

struct Predict: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict tumor probability and masks for slice images.",
        discussion: """
            Each IMAGE is a slice TIFF (RGB: pre-contrast, FLAIR, post-contrast). With a classifier, slices \
            with P(tumor) >= --threshold are flagged and only those are segmented; with a segmenter alone, \
            every slice is. A classifier that reads neighbouring slices (the shipped one) finds them beside \
            each image by the kaggle naming (<patient>_<n>.tif), given or not. Masks are written to --out as <image>_pred.tif (0/255). With neither model named, \
            the shipped models are used (Models/README.md).
            """)

    @Argument(help: "Slice images (.tif).") var images: [String]
    @Option(help: ModelChoice.help("Classifier")) var classifier: String?
    @Option(help: ModelChoice.help("Segmenter")) var segmenter: String?
    @Option(help: "Folder for predicted masks.") var out = "predictions"
    @Option(help: "P(tumor) at or above which a slice is flagged (default: the classifier's stored gate threshold, else 0.5).")
    var threshold: Float?
    @Flag(help: "Print JSON instead of a table.") var json = false
    @OptionGroup var workspace: WorkspaceOptions

    struct Row: Codable {
        var image: String
        var probability: Float?
        var flagged: Bool
        var maskArea: Int?
        var mask: String?
    }

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one IMAGE") }
        try ModelChoice.validate(classifier: classifier, segmenter: segmenter)
        for image in images { try InputPath.requireFile(image, option: "IMAGE") }
        if let threshold, !(threshold.isFinite && (0...1).contains(threshold)) {
            throw ValidationError("--threshold must be in 0...1, got \(threshold)")
        }
    }

    func run() async throws {
        var rows: [Row] = []
        let models = ModelChoice.resolve(classifier: classifier, segmenter: segmenter)
        let store = try models.store(workspace)
        do {
            var pipeline = try TwoStagePipeline(
                classifier: try models.classifier.map { try TrainedModel.load($0, store: store) },
                segmenter: try models.segmenter.map { try TrainedModel.load($0, store: store) })
            if let threshold { pipeline.gateThreshold = threshold }
            let outFolder = URL(fileURLWithPath: out)
            if models.segmenter != nil { try OutputFolder.create(outFolder) }
            // Named after the folder exists, so its links resolve when comparing with the inputs.
            let masks = MaskNames(images: images, folder: outFolder)
            var index = 0
            var neighbours = NeighbourContext()
            for chunk in stride(from: 0, to: images.count, by: 16).map({ Array(images[$0..<min($0 + 16, images.count)]) }) {
                var slices: [SliceImage] = []
                for path in chunk {
                    let decoded = try TIFFImage.readImage(URL(fileURLWithPath: path))
                    for note in decoded.conversions + decoded.warnings {
                        FileHandle.standardError.write(Data("note: \(path): \(note)\n".utf8))
                    }
                    let image = decoded.value
                    guard image.channels == 3 else { throw CommandError("\(path): expected an RGB slice, found \(image.channels) channel(s)") }
                    slices.append(image)
                }
                let areas = pipeline.neighbourReach == 0 ? nil : zip(chunk, slices).map { path, image in
                    Self.neighbourArea(of: path, image: image, pipeline: pipeline, context: &neighbours)
                }
                let predictions = pipeline.predict(TwoStagePipeline.batch(slices), neighbourAreas: areas)
                for (path, prediction) in zip(chunk, predictions) {
                    defer { index += 1 }
                    if let e = prediction.evidence, let (volume, number) = Self.volumeAndSlice(path) {
                        neighbours.record(e, patient: volume, slice: number)
                    }
                    var row = Row(image: path, probability: prediction.probability, flagged: prediction.flagged)
                    if let mask = prediction.mask {
                        let url = masks.urls[index]
                        if let note = masks.notes[index] { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
                        let image = SliceImage(width: mask.width, height: mask.height, channels: 1,
                                               pixels: mask.pixels.map { $0 == 0 ? 0 : 255 })
                        try TIFFImage.write(image, to: url)
                        row.maskArea = mask.area
                        row.mask = url.path
                    }
                    rows.append(row)
                }
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw CommandError("\(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            print(TextTable(header: ["IMAGE", "P(TUMOR)", "FLAGGED", "MASK AREA", "MASK"], rows: rows.map { r in
                [r.image, r.probability.map { String(format: "%.3f", $0) } ?? "-", r.flagged ? "yes" : "no",
                 r.maskArea.map(String.init) ?? "-", r.mask ?? "-"]
            }).rendered)
        }
    }
}

extension Predict {
    /// A slice file's volume (its folder and name prefix) and slice number, from the kaggle naming
    /// `<patient>_<n>.tif`; nil for other names.
    static func volumeAndSlice(_ path: String) -> (volume: String, slice: Int)? {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard let name = KaggleLayout.parse(fileName: url.lastPathComponent), !name.isMask else { return nil }
        return (url.deletingLastPathComponent().appendingPathComponent(name.prefix).path, name.number)
    }

    /// The neighbour area a gate reads for the slice at `path`: its neighbours are the files
    /// `<patient>_<n +- d>.tif` beside it, given or not (absent or unreadable ones count as absent).
    static func neighbourArea(of path: String, image: SliceImage, pipeline: TwoStagePipeline,
                              context: inout NeighbourContext) -> Float? {
        guard let (volume, number) = volumeAndSlice(path) else { return nil }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let suffix = url.pathExtension
        return context.neighbourArea(patient: volume, slice: number, image: image, pipeline: pipeline) { n in
            try? TIFFImage.readImage(URL(fileURLWithPath: "\(volume)_\(n).\(suffix)")).value
        }
    }
}

/// Where each image's mask goes: `<stem>_pred.tif` in the output folder, or `<stem>_pred-2.tif`,
/// `-3`... when that name is one of the input images or the mask of an earlier image of the same call
/// (`a/x.tif b/x.tif` would otherwise share one mask, and `d/x.tif d/x_pred.tif --out d` would write a
/// mask over an input).
struct MaskNames {
    /// The mask path of each image, in order.
    var urls: [URL] = []
    /// Why an image's mask got a numbered name, if it did.
    var notes: [String?] = []

    init(images: [String], folder: URL) {
        let inputs = images.map { FileIdentity(URL(fileURLWithPath: $0)) }
        var taken: [FileIdentity: String] = [:]  // identity -> what holds it, for the note
        for (image, identity) in zip(images, inputs) where taken[identity] == nil {
            taken[identity] = "the input image \(image)"
        }
        for image in images {
            let stem = URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent
            let first = folder.appendingPathComponent(stem + "_pred.tif")
            var url = first
            var n = 2
            while taken[FileIdentity(url)] != nil {
                url = folder.appendingPathComponent("\(stem)_pred-\(n).tif")
                n += 1
            }
            notes.append(url == first ? nil
                : "\(first.path) is \(taken[FileIdentity(first)]!); writing the mask of \(image) to \(url.path)")
            taken[FileIdentity(url)] = "the mask of \(image)"
            urls.append(url)
        }
    }
}

/// A file told apart from others by device and inode where it exists (so a hard link or another spelling
/// of an input is still that input), else by its resolved path.
private enum FileIdentity: Hashable {
    case inode(dev: UInt64, ino: UInt64)
    case path(String)

    init(_ url: URL) {
        let resolved = url.standardizedFileURL.resolvingSymlinksInPath()
        var info = stat()
        if stat(resolved.path, &info) == 0 {
            self = .inode(dev: UInt64(info.st_dev), ino: UInt64(info.st_ino))
        } else {
            self = .path(resolved.path)
        }
    }
}
