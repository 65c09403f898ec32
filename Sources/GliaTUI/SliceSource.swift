// What the panes need from a dataset, kept to plain values so panes can be tested on in-memory
// data and the dataset code (GliaData) stays free of UI concerns.
//
// Predictions and triage decisions are optional on every slice: the browser shows a column for
// them and leaves it empty until a source fills them in.
import GliaData

/// One slice as listed in the browser.
public struct SliceSummary: Sendable, Equatable {
    /// Slice number within the patient's volume (from the file name, 1-based).
    public var number: Int
    /// Ground-truth tumor pixels; nil when the mask is missing or unreadable.
    public var tumorArea: Int?
    /// Classifier probability of tumor, once a model has run.
    public var predictedProbability: Double?
    /// Triage decision label (e.g. "confirmed"), once one was made.
    public var triage: String?

    /// A slice row; prediction and triage default to absent.
    public init(number: Int, tumorArea: Int?, predictedProbability: Double? = nil, triage: String? = nil) {
        self.number = number
        self.tumorArea = tumorArea
        self.predictedProbability = predictedProbability
        self.triage = triage
    }

    /// Ground-truth tumor flag; nil when unknown.
    public var hasTumor: Bool? { tumorArea.map { $0 > 0 } }
}

/// One patient as listed in the browser.
public struct PatientSummary: Sendable, Equatable {
    /// Folder name, e.g. TCGA_CS_4941_19960909.
    public var id: String
    /// Institution code (the second field of a TCGA id, e.g. "CS").
    public var institution: String
    /// Slices in increasing number.
    public var slices: [SliceSummary]
    /// data.csv values by column name (empty when there is no data.csv row).
    public var metadata: [String: String]

    /// A patient row.
    public init(id: String, institution: String, slices: [SliceSummary], metadata: [String: String] = [:]) {
        self.id = id
        self.institution = institution
        self.slices = slices
        self.metadata = metadata
    }

    /// Slices whose ground truth has tumor.
    public var tumorSliceCount: Int { slices.reduce(0) { $0 + ($1.hasTumor == true ? 1 : 0) } }
}

/// The decoded pixels of one slice.
public struct LoadedSlice: Sendable, Equatable {
    /// The three-channel slice.
    public var image: SliceImage
    /// Ground-truth mask, when the slice has one.
    public var truth: SliceMask?
    /// Predicted mask, once a model has run.
    public var prediction: SliceMask?

    /// A decoded slice.
    public init(image: SliceImage, truth: SliceMask?, prediction: SliceMask? = nil) {
        self.image = image
        self.truth = truth
        self.prediction = prediction
    }
}

/// A dataset as the workstation sees it.
public protocol SliceSource: Sendable {
    /// Shown in the title and status bars (e.g. the folder name).
    var title: String { get }
    /// data.csv columns, in file order (empty without a data.csv).
    var metadataColumns: [String] { get }
    /// Patients in display order.
    var patients: [PatientSummary] { get }
    /// Decodes one slice; errors name the file that failed.
    func load(patient: String, slice: Int) throws -> LoadedSlice
}

/// A source held entirely in memory, for tests and benchmarks.
public struct MemorySliceSource: SliceSource {
    /// Name in the title bar.
    public let title: String
    /// data.csv-like columns.
    public let metadataColumns: [String]
    /// Patients in display order.
    public let patients: [PatientSummary]
    private let slices: [String: LoadedSlice]

    /// `slices` is keyed by `"<patient id>#<slice number>"`.
    public init(title: String, metadataColumns: [String] = [], patients: [PatientSummary], slices: [String: LoadedSlice]) {
        self.title = title
        self.metadataColumns = metadataColumns
        self.patients = patients
        self.slices = slices
    }

    /// The slice, or an error naming it when it is not held.
    public func load(patient: String, slice: Int) throws -> LoadedSlice {
        guard let found = slices["\(patient)#\(slice)"] else {
            throw SliceSourceError(description: "\(patient) slice \(slice): not in the in-memory source")
        }
        return found
    }
}

/// A slice that could not be loaded; the description names it.
public struct SliceSourceError: Error, CustomStringConvertible {
    /// One line naming the slice and the problem.
    public let description: String
    /// An error with a one-line description.
    public init(description: String) { self.description = description }
}
