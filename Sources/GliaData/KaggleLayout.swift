// KaggleLayout: indexes a kaggle_3m-style folder.
//
//   root/
//     data.csv                                (optional patient metadata, see PatientMetadata)
//     TCGA_CS_4941_19960909/
//       TCGA_CS_4941_19960909_1.tif           image, slice 1
//       TCGA_CS_4941_19960909_1_mask.tif      its mask
//
// Hidden files are ignored; other root files (README, checksums) are not slices and are ignored;
// TIFFs at the root and files in a patient folder that do not follow the naming are reported, and so
// are names that are not UTF-8, broken links and slice names that are not regular files (a FIFO).
import Foundation

/// The kaggle_3m folder reader.
public enum KaggleLayout {
    /// A file name's meaning in a patient folder.
    public struct SliceName: Equatable, Sendable {
        /// The part before the slice number (normally the folder name).
        public var prefix: String
        public var number: Int
        public var isMask: Bool

        public init(prefix: String, number: Int, isMask: Bool) {
            self.prefix = prefix
            self.number = number
            self.isMask = isMask
        }
    }

    /// Parses `<prefix>_<n>.tif` / `<prefix>_<n>_mask.tif` (also .tiff, any case); nil otherwise.
    public static func parse(fileName: String) -> SliceName? {
        let lower = fileName.lowercased()
        var stem: Substring
        if lower.hasSuffix(".tif") {
            stem = fileName.dropLast(4)
        } else if lower.hasSuffix(".tiff") {
            stem = fileName.dropLast(5)
        } else {
            return nil
        }
        var isMask = false
        if stem.lowercased().hasSuffix("_mask") {
            stem = stem.dropLast(5)
            isMask = true
        }
        guard let underscore = stem.lastIndex(of: "_") else { return nil }
        let digits = stem[stem.index(after: underscore)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              let number = Int(digits) else { return nil }
        return SliceName(prefix: String(stem[..<underscore]), number: number, isMask: isMask)
    }

    /// Indexes a kaggle_3m-style root folder.
    public static func index(_ root: URL) throws -> DatasetIndex {
        var (entries, problems) = try FolderListing.entries(of: root)
        var metadata: PatientMetadata?
        var folders: [URL] = []
        for entry in entries {
            let (name, url) = (entry.name, entry.url)
            if entry.kind == .directory {
                folders.append(url)
            } else if entry.kind != .regular, name.lowercased() == "data.csv" || parse(fileName: name) != nil {
                problems.append(DataProblem(.unexpectedFile, .error, path: url.path, detail: "is \(entry.kind.name), not a regular file; not read"))
            } else if name.lowercased() == "data.csv" {
                do { metadata = try PatientMetadata.read(url) } catch {
                    problems.append(DataProblem(.badCSV, .warning, path: url.path, detail: "patient metadata not read: \(error)"))
                }
            } else if parse(fileName: name) != nil {
                problems.append(DataProblem(.unexpectedFile, .warning, path: url.path,
                                            detail: "slice file outside a patient folder; not used"))
            }
        }
        if folders.isEmpty {
            throw DatasetError(path: root.path, message: "no patient folders (expected <patient>/<patient>_<n>.tif)")
        }
        var patients: [Patient] = []
        for folder in folders {
            var (records, folderProblems) = readFolder(folder)
            problems += folderProblems
            guard !records.isEmpty else { continue }
            readHeaders(&records, problems: &problems)
            let id = folder.lastPathComponent
            patients.append(Patient(id: id, slices: records, metadata: metadata?.row(forPatient: id) ?? [:]))
        }
        return DatasetIndex(root: root, source: .kaggleLayout, patients: patients, problems: problems,
                            metadataColumns: metadata?.columns ?? [])
    }

    /// The slice records of one patient folder (headers not yet read) and its naming problems.
    static func readFolder(_ folder: URL) -> ([SliceRecord], [DataProblem]) {
        let id = folder.lastPathComponent
        var problems: [DataProblem] = []
        let entries: [FolderEntry]
        do {
            (entries, problems) = try FolderListing.entries(of: folder)
        } catch let error as DatasetError {
            return ([], [DataProblem(.emptyFolder, .error, path: folder.path, detail: error.message)])
        } catch {
            return ([], [DataProblem(.emptyFolder, .error, path: folder.path, detail: "cannot list folder: \(error)")])
        }
        var images: [Int: URL] = [:]
        var masks: [Int: URL] = [:]
        for entry in entries {
            let (name, url) = (entry.name, entry.url)
            if entry.kind != .regular, parse(fileName: name) != nil {
                problems.append(DataProblem(.unexpectedFile, .error, path: url.path, detail: "is \(entry.kind.name), not a regular file; not read"))
                continue
            }
            guard let parsed = parse(fileName: name) else {
                problems.append(DataProblem(.unexpectedFile, .warning, path: url.path,
                                            detail: "name does not follow <patient>_<n>.tif or <patient>_<n>_mask.tif; not used"))
                continue
            }
            if parsed.prefix != id {
                problems.append(DataProblem(.unexpectedFile, .warning, path: url.path,
                                            detail: "file name does not start with its folder name \(id); used as slice \(parsed.number)"))
            }
            if parsed.isMask {
                if let first = masks[parsed.number] {
                    problems.append(DataProblem(.duplicateSlice, .error, path: url.path,
                                                detail: "second mask for slice \(parsed.number) (\(first.lastPathComponent) is used)"))
                } else {
                    masks[parsed.number] = url
                }
            } else if let first = images[parsed.number] {
                problems.append(DataProblem(.duplicateSlice, .error, path: url.path,
                                            detail: "second image for slice \(parsed.number) (\(first.lastPathComponent) is used)"))
            } else {
                images[parsed.number] = url
            }
        }
        if images.isEmpty && masks.isEmpty {
            problems.append(DataProblem(.emptyFolder, .error, path: folder.path, detail: "patient folder holds no slices"))
        }
        for (number, mask) in masks.sorted(by: { $0.key < $1.key }) where images[number] == nil {
            problems.append(DataProblem(.maskWithoutImage, .error, path: mask.path, detail: "no image for slice \(number)"))
        }
        var records: [SliceRecord] = []
        for (number, image) in images.sorted(by: { $0.key < $1.key }) {
            let mask = masks[number]
            if mask == nil {
                problems.append(DataProblem(.missingMask, .error, path: image.path,
                                            detail: "no mask for slice \(number) (expected \(image.deletingPathExtension().lastPathComponent)_mask.tif)"))
            }
            records.append(SliceRecord(patientID: id, sliceNumber: number, imageURL: image, maskURL: mask))
        }
        return (records, problems)
    }
}
