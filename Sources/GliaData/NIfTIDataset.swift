// NIfTIDataset: a folder of NIfTI volumes, one image per modality and one mask per patient, read as
// a Glia dataset. BraTS-style names, flat or one folder per patient:
//
//   root/BraTS_001/BraTS_001_t1.nii.gz  BraTS_001_flair.nii.gz  BraTS_001_t1ce.nii.gz  BraTS_001_seg.nii.gz
//
// The patient is the name before the last `_`, the modality after it. Glia's three image channels
// are filled from the modalities named in the options (default t1, flair, t1ce: the LGG slices' pre-
// contrast, FLAIR and post-contrast channels, which is also what `glia export nifti` writes); a
// `glia-nifti.json` in the root, e.g. {"channels": ["flair", "flair", "flair"], "mask": "seg"},
// overrides them. Any nonzero mask voxel is tumor.
//
// Each volume is first turned by its affine (sform, else qform) to Glia's slice orientation, LPS
// (NIfTIOrientation): i = image column running to the patient's left, j = image row running to
// posterior, k = slice (slice k + 1) running upwards, so a volume stored in another axis order or
// direction gives the same slices; one whose header states no orientation is taken in file order.
// Intensities become 8-bit as the TIFF slices are: uint8 volumes as they are, others linearly from 0
// to their 99.5th percentile of positive voxels, clamped.
//
// The slices are written once, as a kaggle_3m folder, into a cache keyed by the files' names, sizes
// and dates and the options (so an edited volume is re-read); every Glia path then reads them as it
// reads TIFFs. The cache is $GLIA_CACHE, else $XDG_CACHE_HOME/glia, else ~/.cache/glia, under nifti/.
import Foundation

/// How a NIfTI folder's volumes map onto Glia's slices.
public struct NIfTIDatasetOptions: Codable, Sendable, Equatable {
    /// The modality (file-name suffix) of each of Glia's three image channels.
    public var channels: [String]
    /// The mask's suffix.
    public var mask: String

    public init(channels: [String] = ["t1", "flair", "t1ce"], mask: String = "seg") {
        self.channels = channels
        self.mask = mask
    }

    /// t1, flair, t1ce and seg.
    public static let standard = NIfTIDatasetOptions()
    /// The options file read from a dataset's root.
    public static let fileName = "glia-nifti.json"

    /// The options of the dataset at `root`: its options file, else the standard ones.
    public static func read(in root: URL) throws -> NIfTIDatasetOptions {
        let url = root.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return .standard }
        let options: NIfTIDatasetOptions
        do { options = try JSONDecoder().decode(NIfTIDatasetOptions.self, from: Data(contentsOf: url)) } catch {
            throw DatasetError(path: url.path, message: "not NIfTI dataset options (expected {\"channels\": [3 names], \"mask\": name})")
        }
        guard options.channels.count == 3, !options.mask.isEmpty else {
            throw DatasetError(path: url.path, message: "channels must name 3 modalities, mask one")
        }
        return options
    }
}

/// The NIfTI folder reader.
public enum NIfTIDataset {
    /// True for .nii and .nii.gz names.
    public static func isVolume(_ name: String) -> Bool {
        let lower = name.lowercased()
        return !name.hasPrefix(".") && (lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz"))
    }

    /// `<patient>_<modality>.nii[.gz]` split at the last `_`; nil otherwise.
    public static func parse(fileName: String) -> (patient: String, modality: String)? {
        guard isVolume(fileName) else { return nil }
        let stem = fileName.lowercased().hasSuffix(".gz") ? String(fileName.dropLast(7)) : String(fileName.dropLast(4))
        guard let underscore = stem.lastIndex(of: "_"), underscore != stem.startIndex else { return nil }
        let modality = stem[stem.index(after: underscore)...]
        return modality.isEmpty ? nil : (String(stem[..<underscore]), modality.lowercased())
    }

    /// The volumes under `root` (at the top and one folder down), by patient and modality.
    public static func volumes(in root: URL) -> [String: [String: URL]] {
        let fm = FileManager.default
        var found: [String: [String: URL]] = [:]
        func scan(_ folder: URL, depth: Int) {
            for name in ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).sorted() where !name.hasPrefix(".") {
                let url = folder.appendingPathComponent(name)
                var isFolder: ObjCBool = false
                if fm.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
                    if depth == 0 { scan(url, depth: 1) }
                } else if let (patient, modality) = parse(fileName: name), found[patient]?[modality] == nil {
                    found[patient, default: [:]][modality] = url
                }
            }
        }
        scan(root, depth: 0)
        return found
    }

    /// True when `root` holds NIfTI volumes and no TIFF slices (a kaggle_3m folder wins).
    public static func contains(_ root: URL) -> Bool {
        guard !volumes(in: root).isEmpty else { return false }
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        return !names.contains { name in
            let folder = root.appendingPathComponent(name)
            return ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).contains { KaggleLayout.parse(fileName: $0) != nil }
        }
    }

    /// The dataset at `root`: its slices written to (or found in) the cache, indexed as kaggle_3m,
    /// with each patient that could not be read reported as a problem.
    public static func index(_ root: URL, options given: NIfTIDatasetOptions? = nil) throws -> DatasetIndex {
        let options = try given ?? NIfTIDatasetOptions.read(in: root)
        let volumes = volumes(in: root)
        let folder = try cacheFolder(for: root, volumes: volumes, options: options)
        let marker = folder.appendingPathComponent(".glia-complete")
        var problems: [DataProblem] = []
        if FileManager.default.fileExists(atPath: marker.path) {
            problems = (try? JSONDecoder().decode([DataProblem].self, from: Data(contentsOf: marker))) ?? []
        } else {
            let partial = folder.deletingLastPathComponent().appendingPathComponent(".partial-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: partial) }
            for patient in volumes.keys.sorted() {
                do { try writeSlices(of: patient, volumes[patient]!, options: options, into: partial) } catch {
                    problems.append(DataProblem(.unreadableTIFF, .error, path: volumes[patient]!.values.first!.path,
                                                detail: "patient \(patient) not read: \(error)"))
                }
            }
            try JSONEncoder().encode(problems).write(to: partial.appendingPathComponent(".glia-complete"))
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.moveItem(at: partial, to: folder)
        }
        let index = try KaggleLayout.index(folder)
        return DatasetIndex(root: index.root, source: index.source, patients: index.patients,
                            problems: problems + index.problems, metadataColumns: index.metadataColumns)
    }

    /// Writes one patient's slices (`<patient>/<patient>_<k>.tif` and `_mask.tif`) under `folder`.
    static func writeSlices(of patient: String, _ files: [String: URL], options: NIfTIDatasetOptions, into folder: URL) throws {
        func volume(_ modality: String) throws -> NIfTIVolume {
            guard let url = files[modality] else {
                throw DatasetError(path: patient, message: "no \(modality) volume (has \(files.keys.sorted().joined(separator: ", ")))")
            }
            return try NIfTIVolume.read(url).reoriented()
        }
        let channels = try options.channels.map { try volume($0).eightBit() }
        let mask = try volume(options.mask)
        for v in channels + [mask] where v.dimensions != mask.dimensions {
            throw DatasetError(path: files[options.mask]!.path, message: "mask is \(mask.dimensions), an image \(v.dimensions) (in Glia's orientation)")
        }
        let (nx, ny, nz) = (mask.dimensions[0], mask.dimensions[1], mask.dimensions[2])
        let out = folder.appendingPathComponent(patient)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let plane = nx * ny
        for k in 0..<nz {
            var pixels = [UInt8](repeating: 0, count: plane * 3)
            for (c, v) in channels.enumerated() {
                for n in 0..<plane { pixels[n * 3 + c] = UInt8(v.voxels[k * plane + n]) }
            }
            let maskPixels = (0..<plane).map { mask.voxels[k * plane + $0] != 0 ? UInt8(1) : 0 }
            let stem = out.appendingPathComponent("\(patient)_\(k + 1)").path
            try TIFFImage.write(SliceImage(width: nx, height: ny, channels: 3, pixels: pixels), to: URL(fileURLWithPath: stem + ".tif"))
            try TIFFImage.write(SliceMask(width: nx, height: ny, pixels: maskPixels), to: URL(fileURLWithPath: stem + "_mask.tif"))
        }
    }

    /// How slices are cut from volumes; part of the cache key, so a cache cut by an earlier reader
    /// (2: volumes reoriented to LPS; 1: file order) is cut again.
    static let sliceFormat = 2

    /// The cache folder for this dataset state: named after the root, keyed by every volume's path,
    /// size and modification date, by the options and by `sliceFormat`.
    static func cacheFolder(for root: URL, volumes: [String: [String: URL]], options: NIfTIDatasetOptions) throws -> URL {
        var key = root.standardizedFileURL.path + "\n" + options.channels.joined(separator: ",") + "/" + options.mask
            + "\nslices \(sliceFormat)"
        for url in volumes.values.flatMap(\.values).sorted(by: { $0.path < $1.path }) {
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            let date = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            key += "\n\(url.path) \(size) \(date)"
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let base = cacheRoot.appendingPathComponent("nifti")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        return base.appendingPathComponent("\(root.lastPathComponent)-\(String(hash, radix: 16))")
    }

    /// $GLIA_CACHE, else $XDG_CACHE_HOME/glia, else ~/.cache/glia.
    static var cacheRoot: URL {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["GLIA_CACHE"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        if let dir = env["XDG_CACHE_HOME"], !dir.isEmpty { return URL(fileURLWithPath: dir).appendingPathComponent("glia") }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/glia")
    }
}

extension NIfTIVolume {
    /// The volume as 8-bit intensities (see the file comment); uint8 volumes keep their values.
    func eightBit() -> NIfTIVolume {
        var out = self
        if dataType == .uint8 { return out }
        let positive = voxels.filter { $0 > 0 && $0.isFinite }.sorted()
        let top = positive.isEmpty ? 1 : positive[min(positive.count - 1, Int(Double(positive.count - 1) * 0.995))]
        let scale = 255 / max(top, .leastNormalMagnitude)
        out.voxels = voxels.map { $0.isFinite ? min(255, max(0, ($0 * scale).rounded())) : 0 }
        out.dataType = .uint8
        return out
    }
}
