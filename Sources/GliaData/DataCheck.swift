// DataCheck: a full check of a dataset, as a value. It adds to the index's problems what only
// decoding finds (truncated or corrupt pixel data, libtiff warnings) and counts what is usable.
// `glia data check` formats the report; its JSON form is this struct encoded (a stable schema).
import Foundation

/// Counts for one institution code.
public struct InstitutionSummary: Sendable, Codable, Equatable {
    /// The code, e.g. "CS" (second `_` field of the patient ids).
    public var code: String
    public var patients: Int
    public var slices: Int
    public var tumorSlices: Int

    public init(code: String, patients: Int, slices: Int, tumorSlices: Int) {
        self.code = code
        self.patients = patients
        self.slices = slices
        self.tumorSlices = tumorSlices
    }
}

/// The result of checking a dataset.
public struct DataCheckReport: Sendable, Codable {
    /// Version of this JSON schema; raised when a field changes meaning or disappears.
    public var schema = 1
    /// The dataset's root folder.
    public var root: String
    /// "kaggle_3m" or "seed-csv".
    public var format: String
    public var patients: Int
    /// All indexed slices (images found).
    public var slices: Int
    /// Slices whose image and mask both decode: what training can use.
    public var usableSlices: Int
    /// Usable slices whose mask has tumor.
    public var tumorSlices: Int
    /// Usable slices whose mask is empty.
    public var healthySlices: Int
    /// Patients that have a data.csv row.
    public var patientsWithMetadata: Int
    /// Per institution code, sorted by code; slice counts are usable slices.
    public var institutions: [InstitutionSummary]
    /// Every problem found, errors first, then by path.
    public var problems: [DataProblem]

    /// True when at least one slice can be used (the command's exit status is 0 exactly then).
    public var hasUsableData: Bool { usableSlices > 0 }
    public var errorCount: Int { problems.filter { $0.severity == .error }.count }
    public var warningCount: Int { problems.filter { $0.severity == .warning }.count }
}

/// Checks datasets.
public enum DataCheck {
    /// Indexes and checks the dataset at `url` (folder or seed CSV). Throws only when there is no
    /// dataset there at all.
    public static func run(_ url: URL) throws -> DataCheckReport {
        run(try DatasetIndex.load(url))
    }

    /// Checks an index: decodes every image and mask (in parallel) and gathers all problems.
    public static func run(_ index: DatasetIndex) -> DataCheckReport {
        let records = index.slices
        let scan = index.maskScan()
        let images = concurrentMap(records.count) { i -> (Bool, [DataProblem]) in
            let url = records[i].imageURL
            guard records[i].imageHeader != nil else { return (false, []) }
            do {
                let decoded = try TIFFImage.readImage(url)
                return (true, decoded.warnings.map {
                    DataProblem(.decodeWarning, .warning, path: url.path, detail: "libtiff: \($0)")
                })
            } catch {
                return (false, [DataProblem(.unreadableTIFF, .error, path: url.path,
                                            detail: (error as? TIFFError)?.message ?? "\(error)")])
            }
        }
        var problems = index.problems + scan.problems + images.flatMap(\.1)
        problems.sort { ($0.severity == .error ? 0 : 1, $0.path, $0.kind.rawValue) < ($1.severity == .error ? 0 : 1, $1.path, $1.kind.rawValue) }

        var usable = 0, tumor = 0
        var byInstitution: [String: InstitutionSummary] = [:]
        var offset = 0
        for patient in index.patients {
            let code = patient.institution
            var summary = byInstitution[code] ?? InstitutionSummary(code: code, patients: 0, slices: 0, tumorSlices: 0)
            summary.patients += 1
            for i in offset..<(offset + patient.slices.count) where images[i].0 {
                guard let area = scan.areas[i] else { continue }
                usable += 1
                summary.slices += 1
                if area > 0 {
                    tumor += 1
                    summary.tumorSlices += 1
                }
            }
            offset += patient.slices.count
            byInstitution[code] = summary
        }
        let format: String
        switch index.source {
        case .kaggleLayout: format = "kaggle_3m"
        case .seedCSV: format = "seed-csv"
        }
        return DataCheckReport(
            root: index.root.path, format: format, patients: index.patients.count, slices: records.count,
            usableSlices: usable, tumorSlices: tumor, healthySlices: usable - tumor,
            patientsWithMetadata: index.patients.filter { !$0.metadata.isEmpty }.count,
            institutions: byInstitution.values.sorted { $0.code < $1.code }, problems: problems)
    }
}
