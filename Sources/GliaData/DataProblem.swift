// DataProblem: something wrong with a dataset, found while indexing or checking it, as a value.
// Commands decide how to show problems; nothing in GliaData prints or skips a file silently.

/// One problem with a dataset file or folder.
public struct DataProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What kind of problem; the raw values are the stable names used in `glia data check --json`.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The TIFF cannot be opened or decoded (not a TIFF, truncated, corrupt).
        case unreadableTIFF = "unreadable-tiff"
        /// An image has no mask file.
        case missingMask = "missing-mask"
        /// A mask file has no image file.
        case maskWithoutImage = "mask-without-image"
        /// Image and mask sizes differ, or a slice is not 256x256 (it will be resized).
        case sizeMismatch = "size-mismatch"
        /// An image is not 3-channel RGB, or a mask is not single-channel.
        case channelMismatch = "channel-mismatch"
        /// Two files claim the same slice number of one patient; the first by name is used.
        case duplicateSlice = "duplicate-slice"
        /// A patient folder without any slice.
        case emptyFolder = "empty-folder"
        /// A CSV row points at a file that does not exist.
        case missingFile = "missing-file"
        /// A file whose name does not follow the layout (`<patient>_<n>.tif`, `<patient>_<n>_mask.tif`).
        case unexpectedFile = "unexpected-file"
        /// A CSV (data.csv or the seed's CSV) that cannot be parsed, or a row that cannot be used.
        case badCSV = "bad-csv"
        /// libtiff warned while decoding, or a file was converted (resized, channels changed).
        case decodeWarning = "decode-warning"
    }

    /// Whether the problem costs data (`error`: a slice or mask cannot be used) or only deserves
    /// attention (`warning`: the data is used, perhaps converted).
    public enum Severity: String, Sendable, Hashable, Codable {
        case error, warning
    }

    public var kind: Kind
    public var severity: Severity
    /// The file or folder concerned (absolute path).
    public var path: String
    /// One line saying what is wrong, for people.
    public var detail: String

    public init(_ kind: Kind, _ severity: Severity, path: String, detail: String) {
        self.kind = kind
        self.severity = severity
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(severity) \(kind.rawValue): \(path): \(detail)" }
}
