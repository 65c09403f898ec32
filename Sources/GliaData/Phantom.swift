// Phantom: the embedded default dataset. Synthetic brain MRI (see PhantomAnatomy.swift) written in
// the kaggle_3m layout with a data.csv, so that every reader, the browser and training work on it
// exactly as on the real data. Same configuration and seed, same files.
//
// Naming: patients are `SYN_<institution>_<nnnn>_<date>` with institutions PA, PB, PC in turn, so
// stratified splits have something to stratify; data.csv's `Patient` key is `SYN_<inst>_<nnnn>`.
import Foundation
import GliaCore

/// The synthetic dataset.
public enum Phantom {
    /// What to generate.
    public struct Configuration: Sendable, Equatable {
        public var patients: Int
        /// Slices per patient are drawn uniformly from this range.
        public var slices: ClosedRange<Int>
        public var seed: UInt64
        public var side: Int

        public init(patients: Int, slices: ClosedRange<Int>, seed: UInt64, side: Int = TIFFImage.sliceSide) {
            self.patients = patients
            self.slices = slices
            self.seed = seed
            self.side = side
        }

        /// The default set: 12 patients of 20-28 slices (about 290 slices, a third with tumor).
        public static let `default` = Configuration(patients: 12, slices: 20...28, seed: 20_190_501)
    }

    /// What was written.
    public struct Summary: Sendable, Equatable {
        public var patients: Int
        public var slices: Int
        public var tumorSlices: Int
    }

    /// Institution codes used for phantom patients, in turn.
    public static let institutions = ["PA", "PB", "PC"]

    /// The folder name of phantom patient `index` (0-based).
    public static func patientID(_ index: Int) -> String {
        "SYN_\(institutions[index % institutions.count])_\(String(format: "%04d", index + 1))_\(20_000_101 + index * 17)"
    }

    /// Renders one patient in memory: its slices in order, each image with its exact mask.
    public static func render(patient index: Int, configuration: Configuration) -> [(SliceImage, SliceMask)] {
        var rng = RandomGenerator(seed: configuration.seed ^ (UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15))
        let count = configuration.slices.lowerBound + rng.nextInt(below: configuration.slices.count)
        let head = PhantomHead(side: configuration.side, sliceCount: count, rng: &rng)
        return (0..<count).map { head.render($0, rng: &rng) }
    }

    /// Writes the dataset into `folder`, which must not exist or be empty.
    public static func write(to folder: URL, configuration: Configuration = .default) throws -> Summary {
        let fm = FileManager.default
        try OutputFolder.create(folder, requireEmpty: true)
        let results = concurrentMap(configuration.patients) { p -> Result<(Int, Int), Error> in
            Result {
                let id = patientID(p)
                let dir = folder.appendingPathComponent(id)
                try fm.createDirectory(at: dir, withIntermediateDirectories: true)
                var tumor = 0
                let slices = render(patient: p, configuration: configuration)
                for (n, (image, mask)) in slices.enumerated() {
                    try TIFFImage.write(image, to: dir.appendingPathComponent("\(id)_\(n + 1).tif"))
                    try TIFFImage.write(mask, to: dir.appendingPathComponent("\(id)_\(n + 1)_mask.tif"))
                    if mask.area > 0 { tumor += 1 }
                }
                return (slices.count, tumor)
            }
        }
        var summary = Summary(patients: configuration.patients, slices: 0, tumorSlices: 0)
        for r in results {
            let (slices, tumor) = try r.get()
            summary.slices += slices
            summary.tumorSlices += tumor
        }
        try metadataCSV(configuration).write(to: folder.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        return summary
    }

    /// data.csv: a few of the real file's columns with plausible random values.
    static func metadataCSV(_ configuration: Configuration) -> String {
        var rng = RandomGenerator(seed: configuration.seed &+ 17)
        var rows = [["Patient", "histological_type", "neoplasm_histologic_grade", "gender",
                     "age_at_initial_pathologic", "death01"]]
        for p in 0..<configuration.patients {
            rows.append([PatientMetadata.key(forPatient: patientID(p)), "\(1 + rng.nextInt(below: 3))",
                         "\(1 + rng.nextInt(below: 2))", "\(1 + rng.nextInt(below: 2))",
                         "\(22 + rng.nextInt(below: 55))", "\(rng.nextInt(below: 2))"])
        }
        return CSV.format(rows)
    }

    /// The user's cache folder for Glia: `$XDG_CACHE_HOME/glia`, else `~/.cache/glia`.
    public static func cacheDirectory() -> URL {
        if let xdg = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("glia")
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache").appendingPathComponent("glia")
    }

    /// Where the default phantom dataset lives (versioned: a new generator gets a new folder).
    public static var defaultDatasetURL: URL { cacheDirectory().appendingPathComponent("phantom-v1") }

    /// The default phantom dataset's folder, created on first use. Creation is atomic: the set is
    /// written to a temporary folder beside it and renamed into place, so a reader never sees a
    /// half-written set, and two processes racing both end up with a complete one.
    public static func ensureDefaultDataset() throws -> URL {
        let target = defaultDatasetURL
        let fm = FileManager.default
        if fm.fileExists(atPath: target.path) { return target }
        try fm.createDirectory(at: cacheDirectory(), withIntermediateDirectories: true)
        let temporary = cacheDirectory().appendingPathComponent(".phantom-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? fm.removeItem(at: temporary) }
        _ = try write(to: temporary, configuration: .default)
        if rename(temporary.path, target.path) != 0 && !fm.fileExists(atPath: target.path) {
            throw DatasetError(path: target.path, message: "cannot move the phantom dataset into place (errno \(errno))")
        }
        return target
    }
}
