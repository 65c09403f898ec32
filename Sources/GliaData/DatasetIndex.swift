// DatasetIndex: what a dataset contains, built from directory entries and TIFF headers only
// (pixels are decoded on demand). Three source forms are read:
// - the kaggle_3m layout: a folder per patient holding `<patient>_<n>.tif` and `<patient>_<n>_mask.tif`,
//   with an optional data.csv of patient metadata at the root (KaggleLayout.swift);
// - the seed project's CSV: `patient_id,image_path,mask_path,mask`, paths relative to the CSV's
//   folder (SeedCSV.swift);
// - a folder of NIfTI volumes (image modalities + mask per patient), sliced once into a cached
//   kaggle_3m folder (NIfTIDataset.swift).
//
// Identity: a patient's id is its folder name (TCGA_CS_4941_19960909); its institution code is the
// id's second `_` field (CS). A slice is identified by patient id and slice number; slices are kept
// in natural numeric order (2 before 10).
import Foundation
import GliaCore

/// One slice: an image file and, normally, its mask file.
public struct SliceRecord: Sendable, Hashable, Codable, Identifiable {
    /// The patient (folder name).
    public var patientID: String
    /// The slice number from the file name (`<patient>_<n>.tif`), 1-based in the dataset.
    public var sliceNumber: Int
    public var imageURL: URL
    /// The mask file; nil when the image has none (reported as a problem).
    public var maskURL: URL?
    /// The image's TIFF header, read while indexing; nil when it could not be read.
    public var imageHeader: TIFFHeader?
    /// The mask's TIFF header, read while indexing; nil when absent or unreadable.
    public var maskHeader: TIFFHeader?

    public init(patientID: String, sliceNumber: Int, imageURL: URL, maskURL: URL?,
                imageHeader: TIFFHeader? = nil, maskHeader: TIFFHeader? = nil) {
        self.patientID = patientID
        self.sliceNumber = sliceNumber
        self.imageURL = imageURL
        self.maskURL = maskURL
        self.imageHeader = imageHeader
        self.maskHeader = maskHeader
    }

    /// `<patient>_<n>`, unique within a dataset.
    public var id: String { "\(patientID)_\(sliceNumber)" }

    /// True when both files were found and their headers read: the slice can be decoded for training.
    public var isUsable: Bool { imageHeader != nil && maskHeader != nil }
}

/// A patient: a folder of slices, with its data.csv row when there is one.
public struct Patient: Sendable, Hashable, Identifiable {
    /// The folder name, e.g. TCGA_CS_4941_19960909.
    public var id: String
    /// Slices in increasing slice number.
    public var slices: [SliceRecord]
    /// The patient's data.csv row (column -> value); empty when there is none.
    public var metadata: [String: String]

    public init(id: String, slices: [SliceRecord], metadata: [String: String] = [:]) {
        self.id = id
        self.slices = slices
        self.metadata = metadata
    }

    /// The institution code: the id's second `_` field (CS in TCGA_CS_4941_19960909), or "?".
    public var institution: String { Self.institution(of: id) }

    /// The institution code of a patient id.
    public static func institution(of id: String) -> String {
        let fields = id.split(separator: "_", omittingEmptySubsequences: false)
        return fields.count >= 2 && !fields[1].isEmpty ? String(fields[1]) : "?"
    }
}

/// An indexing failure that leaves nothing to index (the path is missing or not a dataset).
public struct DatasetError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
    public var errorDescription: String? { description }
}

/// The index of a dataset: its patients, their slices, and the problems met while indexing.
public struct DatasetIndex: Sendable {
    /// Which of the two source forms the index was read from.
    public enum Source: Sendable, Equatable {
        /// A kaggle_3m-style folder of patient folders.
        case kaggleLayout
        /// The seed project's CSV file.
        case seedCSV(URL)
    }

    /// The dataset's root folder (for a seed CSV: the CSV's folder).
    public let root: URL
    public let source: Source
    /// Patients in increasing id order.
    public let patients: [Patient]
    /// Problems found from directory entries, CSV rows and TIFF headers. Pixel-level problems
    /// (truncated data) are found by `DataCheck`.
    public let problems: [DataProblem]
    /// The data.csv column names when one was read, else empty.
    public let metadataColumns: [String]
    /// Every slice, patient by patient, in slice order.
    public let slices: [SliceRecord]
    let scanCache = MaskScanCache()

    public init(root: URL, source: Source, patients: [Patient], problems: [DataProblem],
                metadataColumns: [String] = []) {
        self.root = root
        self.source = source
        self.patients = patients.sorted { $0.id < $1.id }
        self.problems = problems
        self.metadataColumns = metadataColumns
        self.slices = self.patients.flatMap(\.slices)
    }

    /// Indexes `url`: a kaggle_3m-style folder (or a folder holding `kaggle_3m/`), a seed CSV
    /// file, or a folder whose only dataset is a seed CSV (a .csv with an `image_path` column).
    /// Throws only when the path does not exist or is not a folder or CSV file.
    public static func load(_ url: URL) throws -> DatasetIndex {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw DatasetError(path: url.path, message: "no such file or folder")
        }
        if !isDirectory.boolValue {
            guard url.pathExtension.lowercased() == "csv" else {
                throw DatasetError(path: url.path, message: "not a dataset: expected a folder or a seed CSV file")
            }
            return try SeedCSV.index(url)
        }
        let nested = url.appendingPathComponent("kaggle_3m")
        if FileManager.default.fileExists(atPath: nested.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try KaggleLayout.index(nested)
        }
        if let csv = SeedCSV.find(in: url) { return try SeedCSV.index(csv) }
        if NIfTIDataset.contains(url) { return try NIfTIDataset.index(url) }
        return try KaggleLayout.index(url)
    }

    /// The patient with this id.
    public func patient(_ id: String) -> Patient? {
        patients.first { $0.id == id }
    }

    /// Slices whose image and mask headers were read (decodable for training).
    public var usableSlices: [SliceRecord] { slices.filter(\.isUsable) }

    /// Patients per institution code.
    public var institutions: [String: [Patient]] {
        Dictionary(grouping: patients, by: \.institution)
    }
}

/// Reads both headers of every record in parallel, recording unreadable files as problems.
func readHeaders(_ records: inout [SliceRecord], problems: inout [DataProblem]) {
    let found = concurrentMap(records.count) { i -> (TIFFHeader?, TIFFHeader?, [DataProblem]) in
        var local: [DataProblem] = []
        func header(_ url: URL?) -> TIFFHeader? {
            guard let url else { return nil }
            do { return try TIFFImage.readHeader(url) } catch {
                local.append(DataProblem(.unreadableTIFF, .error, path: url.path, detail: "\((error as? TIFFError)?.message ?? "\(error)")"))
                return nil
            }
        }
        return (header(records[i].imageURL), header(records[i].maskURL), local)
    }
    for i in records.indices {
        records[i].imageHeader = found[i].0
        records[i].maskHeader = found[i].1
        problems += found[i].2
        problems += headerProblems(records[i])
    }
}

/// Size and channel problems visible from headers alone.
func headerProblems(_ r: SliceRecord) -> [DataProblem] {
    var out: [DataProblem] = []
    let side = TIFFImage.sliceSide
    if let h = r.imageHeader {
        if h.samplesPerPixel != 3 {
            out.append(DataProblem(.channelMismatch, .warning, path: r.imageURL.path,
                                   detail: "image has \(h.samplesPerPixel) channel(s), expected 3 (RGB); converted on read"))
        }
        if h.width != side || h.height != side {
            out.append(DataProblem(.sizeMismatch, .warning, path: r.imageURL.path,
                                   detail: "image is \(h.width)x\(h.height), resized to \(side)x\(side) on read"))
        }
    }
    if let m = r.maskHeader, let maskURL = r.maskURL {
        if m.samplesPerPixel != 1 {
            out.append(DataProblem(.channelMismatch, .warning, path: maskURL.path,
                                   detail: "mask has \(m.samplesPerPixel) channels, expected 1; any nonzero channel counts"))
        }
        if let h = r.imageHeader, h.width != m.width || h.height != m.height {
            out.append(DataProblem(.sizeMismatch, .warning, path: maskURL.path,
                                   detail: "mask is \(m.width)x\(m.height) but its image is \(h.width)x\(h.height)"))
        } else if m.width != side || m.height != side {
            out.append(DataProblem(.sizeMismatch, .warning, path: maskURL.path,
                                   detail: "mask is \(m.width)x\(m.height), resized to \(side)x\(side) on read"))
        }
    }
    return out
}

/// `body(i)` for i in 0..<count on Dispatch's pool, results in index order.
func concurrentMap<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
    var out = [T?](repeating: nil, count: count)
    out.withUnsafeMutableBufferPointer { buffer in
        parallelFor(count, minimumChunk: 8) { range in
            for i in range { buffer[i] = body(i) }
        }
    }
    return out.map { $0! }
}
