// The workstation's view of a real (or phantom) dataset: a `DatasetIndex` plus its mask scan,
// with slices decoded from TIFF on demand.
import Foundation
import GliaData

/// A `SliceSource` over a `DatasetIndex`.
public struct DatasetSource: SliceSource {
    /// Name in the title bar.
    public let title: String
    /// data.csv columns, in file order.
    public let metadataColumns: [String]
    /// Patients in id order, with tumor areas from the mask scan.
    public let patients: [PatientSummary]
    private let records: [String: SliceRecord]

    /// Lists `index`'s patients with tumor areas from its mask scan (decodes every mask once;
    /// cached by the index). `title` names the dataset in the title bar.
    public init(index: DatasetIndex, title: String) {
        let scan = index.maskScan()
        var areaByID: [String: Int?] = [:]
        for (i, record) in index.slices.enumerated() { areaByID[record.id] = scan.areas[i] }
        self.title = title
        metadataColumns = index.metadataColumns
        patients = index.patients.map { patient in
            PatientSummary(id: patient.id, institution: patient.institution,
                           slices: patient.slices.map { SliceSummary(number: $0.sliceNumber, tumorArea: areaByID[$0.id] ?? nil) },
                           metadata: patient.metadata)
        }
        records = Dictionary(index.slices.map { (SliceCache.key(patient: $0.patientID, slice: $0.sliceNumber), $0) },
                             uniquingKeysWith: { first, _ in first })
    }

    /// Decodes the slice's image and (when it has one) its mask.
    public func load(patient: String, slice: Int) throws -> LoadedSlice {
        guard let record = records[SliceCache.key(patient: patient, slice: slice)] else {
            throw SliceSourceError(description: "\(patient) slice \(slice): not in the dataset index")
        }
        let image = try TIFFImage.readImage(record.imageURL).value
        let truth = try record.maskURL.map { try TIFFImage.readMask($0).value }
        return LoadedSlice(image: image, truth: truth)
    }
}
