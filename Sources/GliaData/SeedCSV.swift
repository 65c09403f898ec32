// SeedCSV: indexes the seed project's CSV form of the dataset:
//
//   patient_id,image_path,mask_path,mask
//   TCGA_CS_4941_19960909,TCGA_CS_4941_19960909/TCGA_CS_4941_19960909_1.tif,...,0
//
// Paths are relative to the CSV's folder (absolute paths are used as they are). The `mask` column
// (the seed's 0/1 tumor flag) is not trusted: tumor flags always come from the mask pixels. The
// slice number is parsed from the image file name, else the row's position within its patient.
import Foundation

/// The seed CSV reader.
public enum SeedCSV {
    /// The columns a seed CSV must have.
    public static let requiredColumns = ["patient_id", "image_path", "mask_path"]

    /// The first .csv in `folder` (by name) whose header has the seed's columns, if any.
    public static func find(in folder: URL) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names.sorted() where name.lowercased().hasSuffix(".csv") && !name.hasPrefix(".") {
            let url = folder.appendingPathComponent(name)
            guard FileKind.of(url.path) == .regular, let handle = try? FileHandle(forReadingFrom: url) else { continue }
            let head = String(decoding: (try? handle.read(upToCount: 4096)) ?? Data(), as: UTF8.self)
            try? handle.close()
            let firstLine = head.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            // Parsed as CSV, not split on commas, so a quoted header reads as it does in `index`.
            let columns = headerColumns((try? CSV.parse(firstLine, source: url.path))?.first ?? [])
            if requiredColumns.allSatisfy(columns.contains) { return url }
        }
        return nil
    }

    /// Column names as compared: without a UTF-8 byte-order mark (spreadsheet exports start with one),
    /// surrounding spaces or case.
    static func headerColumns(_ row: [String]) -> [String] {
        row.enumerated().map { i, name in
            (i == 0 && name.hasPrefix("\u{FEFF}") ? String(name.dropFirst()) : name)
                .trimmingCharacters(in: .whitespaces).lowercased()
        }
    }

    /// Indexes a seed CSV file.
    public static func index(_ csv: URL) throws -> DatasetIndex {
        let table: [[String]]
        do { table = try CSV.read(csv) } catch {
            throw DatasetError(path: csv.path, message: "cannot read CSV: \(error)")
        }
        guard let header = table.first.map(headerColumns) else {
            throw DatasetError(path: csv.path, message: "empty CSV")
        }
        let column = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        guard let patientColumn = column["patient_id"], let imageColumn = column["image_path"],
              let maskColumn = column["mask_path"] else {
            throw DatasetError(path: csv.path, message: "not a seed CSV: needs columns \(requiredColumns.joined(separator: ", "))")
        }
        let base = csv.deletingLastPathComponent()
        let fm = FileManager.default
        var problems: [DataProblem] = []
        var byPatient: [String: [SliceRecord]] = [:]
        var seen: [String: [Int: String]] = [:]
        for (n, row) in table.dropFirst().enumerated() {
            let line = n + 2
            let place = "\(csv.path):\(line)"
            guard row.count == header.count else {
                problems.append(DataProblem(.badCSV, .error, path: place,
                                            detail: "\(row.count) fields where the header has \(header.count); row not used"))
                continue
            }
            let patient = row[patientColumn]
            guard !patient.isEmpty, !row[imageColumn].isEmpty else {
                problems.append(DataProblem(.badCSV, .error, path: place, detail: "empty patient_id or image_path; row not used"))
                continue
            }
            let image = resolve(row[imageColumn], base: base)
            guard fm.fileExists(atPath: image.path) else {
                problems.append(DataProblem(.missingFile, .error, path: image.path, detail: "image named on line \(line) does not exist"))
                continue
            }
            var mask: URL?
            if row[maskColumn].isEmpty {
                problems.append(DataProblem(.missingMask, .error, path: image.path, detail: "line \(line) names no mask"))
            } else {
                let url = resolve(row[maskColumn], base: base)
                if fm.fileExists(atPath: url.path) {
                    mask = url
                } else {
                    problems.append(DataProblem(.missingFile, .error, path: url.path, detail: "mask named on line \(line) does not exist"))
                }
            }
            let number = KaggleLayout.parse(fileName: image.lastPathComponent)?.number
                ?? (byPatient[patient]?.count ?? 0) + 1
            if let first = seen[patient]?[number] {
                problems.append(DataProblem(.duplicateSlice, .error, path: image.path,
                                            detail: "line \(line) repeats slice \(number) of \(patient) (\(first) is used)"))
                continue
            }
            seen[patient, default: [:]][number] = image.lastPathComponent
            byPatient[patient, default: []].append(SliceRecord(patientID: patient, sliceNumber: number,
                                                               imageURL: image, maskURL: mask))
        }
        var metadata: PatientMetadata?
        let dataCSV = base.appendingPathComponent("data.csv")
        if dataCSV.standardizedFileURL != csv.standardizedFileURL, fm.fileExists(atPath: dataCSV.path) {
            do { metadata = try PatientMetadata.read(dataCSV) } catch {
                problems.append(DataProblem(.badCSV, .warning, path: dataCSV.path, detail: "patient metadata not read: \(error)"))
            }
        }
        var patients: [Patient] = []
        for (id, unsorted) in byPatient.sorted(by: { $0.key < $1.key }) {
            var records = unsorted.sorted { $0.sliceNumber < $1.sliceNumber }
            readHeaders(&records, problems: &problems)
            patients.append(Patient(id: id, slices: records, metadata: metadata?.row(forPatient: id) ?? [:]))
        }
        return DatasetIndex(root: base, source: .seedCSV(csv), patients: patients, problems: problems,
                            metadataColumns: metadata?.columns ?? [])
    }

    private static func resolve(_ path: String, base: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
    }
}
