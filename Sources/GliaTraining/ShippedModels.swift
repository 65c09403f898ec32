// Shipped models: the classifier and segmenter that come with Glia (Models/ in the checkout, or an
// installed copy), used by every command and by the workstation whenever no run or file is named.
//
// Lookup: `$GLIA_MODELS` when set (and then only it, so a user or a test can point Glia at one
// folder, even an empty one); else the first of these that holds a shipped file: the `Models/`
// folder of the checkout the executable was built in (found by walking up from the executable's
// real path to a folder with both Package.swift and Models/), `~/.local/share/glia/models`,
// `/usr/local/share/glia/models`. `split.json` beside the weights names the patients the models
// were trained, validated and tested on, so screens and exports can mark the ones they have seen.
import Foundation
import GliaData

/// The shipped model folder and the files found in it.
public struct ShippedModels: Sendable {
    /// File names inside the folder.
    public static let segmenterFile = "segmenter.safetensors"
    public static let classifierFile = "classifier.safetensors"
    public static let splitFile = "split.json"

    /// The folder the files come from; nil when none of the searched folders holds a model.
    public let folder: URL?
    /// Every folder looked in, in order (for the message when nothing is found).
    public let searched: [URL]

    /// A lookup result over `folder` (exposed for tests that build one directly).
    public init(folder: URL?, searched: [URL]) {
        self.folder = folder
        self.searched = searched
    }

    /// Finds the shipped folder for this process (see the file comment for the order).
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              executable: URL? = Bundle.main.executableURL) -> ShippedModels {
        if let custom = environment["GLIA_MODELS"], !custom.isEmpty {
            let url = URL(fileURLWithPath: custom)
            return ShippedModels(folder: holdsModel(url) ? url : nil, searched: [url])
        }
        let candidates = searchFolders(environment: environment, executable: executable)
        return ShippedModels(folder: candidates.first(where: holdsModel), searched: candidates)
    }

    /// The folders searched when `$GLIA_MODELS` is not set, in order.
    public static func searchFolders(environment: [String: String], executable: URL?) -> [URL] {
        var result: [URL] = []
        if let checkout = executable.flatMap(checkoutFolder(of:)) { result.append(checkout.appendingPathComponent("Models")) }
        if let home = environment["HOME"], !home.isEmpty {
            result.append(URL(fileURLWithPath: home).appendingPathComponent(".local/share/glia/models"))
        }
        result.append(URL(fileURLWithPath: "/usr/local/share/glia/models"))
        return result
    }

    /// The nearest folder above `executable` (symlinks resolved) holding Package.swift and Models/.
    public static func checkoutFolder(of executable: URL) -> URL? {
        var directory = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" && !directory.path.isEmpty {
            var isFolder: ObjCBool = false
            let models = directory.appendingPathComponent("Models").path
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path),
               FileManager.default.fileExists(atPath: models, isDirectory: &isFolder), isFolder.boolValue {
                return directory
            }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    private static func holdsModel(_ folder: URL) -> Bool {
        [segmenterFile, classifierFile].contains { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
    }

    private func file(_ name: String) -> URL? {
        guard let url = folder?.appendingPathComponent(name), FileManager.default.fileExists(atPath: url.path) else { return nil }
        return url
    }

    /// The shipped segmenter checkpoint, when present.
    public var segmenter: URL? { file(Self.segmenterFile) }
    /// The shipped classifier checkpoint, when present.
    public var classifier: URL? { file(Self.classifierFile) }
    /// The split the shipped models were trained on, when present.
    public var split: URL? { file(Self.splitFile) }

    /// Why there are no shipped models, as one line; nil when at least one model was found.
    public var absence: String? {
        guard folder == nil else { return nil }
        return "no shipped models in \(searched.map(\.path).joined(separator: ", ")); "
            + "train with `glia train classifier --data DIR` and `glia train segmenter --data DIR`, or set GLIA_MODELS"
    }

    /// The patients the shipped models were trained or validated on, tagged "train" / "val" by id;
    /// empty without a split file. Test patients are not tagged: the models never saw them.
    public func seenPatients() throws -> [String: String] {
        guard let split else { return [:] }
        return Self.tags(of: try DatasetSplit.read(from: split))
    }

    /// "train" / "val" for the training and validation patients of `split`.
    public static func tags(of split: DatasetSplit) -> [String: String] {
        var tags: [String: String] = [:]
        for id in split.train { tags[id] = "train" }
        for id in split.validation { tags[id] = "val" }
        return tags
    }
}
