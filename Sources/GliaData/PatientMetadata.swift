// PatientMetadata: the dataset's data.csv, one row per patient keyed by `Patient` (the first three
// `_` fields of a patient folder name, e.g. TCGA_CS_4941 for TCGA_CS_4941_19960909). The real file
// lists all 110 patients of the full dataset; rows without a folder are normal and not problems.
import Foundation

/// Per-patient metadata read from a data.csv.
public struct PatientMetadata: Sendable, Equatable {
    /// Column names in file order, the key column (`Patient`) first as in the dataset.
    public var columns: [String]
    /// Values by patient key, then by column name. Empty cells are kept as empty strings.
    public var rows: [String: [String: String]]

    public init(columns: [String], rows: [String: [String: String]]) {
        self.columns = columns
        self.rows = rows
    }

    /// Reads a data.csv; its key column is `Patient` (case-insensitive), else the first column.
    public static func read(_ url: URL) throws -> PatientMetadata {
        let table = try CSV.read(url)
        guard let header = table.first else { return PatientMetadata(columns: [], rows: [:]) }
        let keyColumn = header.firstIndex { $0.lowercased() == "patient" } ?? 0
        var rows: [String: [String: String]] = [:]
        for (n, fields) in table.dropFirst().enumerated() {
            guard fields.count == header.count else {
                throw CSVError(source: url.path, line: n + 2,
                               message: "\(fields.count) fields where the header has \(header.count)")
            }
            rows[fields[keyColumn]] = Dictionary(uniqueKeysWithValues: zip(header, fields).map { ($0, $1) })
        }
        return PatientMetadata(columns: header, rows: rows)
    }

    /// The data.csv key of a patient id: its first three `_` fields.
    public static func key(forPatient id: String) -> String {
        id.split(separator: "_", omittingEmptySubsequences: false).prefix(3).joined(separator: "_")
    }

    /// The row for a patient id (folder name), if data.csv has one.
    public func row(forPatient id: String) -> [String: String]? {
        rows[Self.key(forPatient: id)]
    }
}
