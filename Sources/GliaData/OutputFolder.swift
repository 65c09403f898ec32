// Output folders: created with an error that names the folder and says what is in the way, where
// FileManager's own errors ("The file couldn't be saved because ... Error Domain=NSCocoaErrorDomain")
// name neither clearly.
import Foundation

/// Creating the folders Glia writes into (predicted masks, NIfTI volumes, the phantom set).
public enum OutputFolder {
    /// Creates `folder` and any missing parents, or accepts it when it is already a folder (empty,
    /// when `requireEmpty`). Throws an `OutputFolderError` naming the folder and the cause: a file
    /// in its place or in place of a parent, a parent that cannot be written, a folder not empty.
    public static func create(_ folder: URL, requireEmpty: Bool = false) throws {
        let fm = FileManager.default
        let path = folder.path
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw OutputFolderError(path: path, reason: "is a file, not a folder") }
            if requireEmpty {
                let entries = (try? fm.contentsOfDirectory(atPath: path)) ?? []
                guard entries.isEmpty else { throw OutputFolderError(path: path, reason: "folder exists and is not empty") }
            }
            guard fm.isWritableFile(atPath: path) else { throw OutputFolderError(path: path, reason: "folder is not writable") }
            return
        }
        // The nearest existing ancestor decides whether the folder can be made.
        var ancestor = folder.deletingLastPathComponent()
        while !fm.fileExists(atPath: ancestor.path, isDirectory: &isDirectory), ancestor.pathComponents.count > 1 {
            ancestor = ancestor.deletingLastPathComponent()
        }
        guard isDirectory.boolValue else {
            throw OutputFolderError(path: path, reason: "\(ancestor.path) is a file, not a folder")
        }
        guard fm.isWritableFile(atPath: ancestor.path) else {
            throw OutputFolderError(path: path, reason: "cannot create it: \(ancestor.path) is not writable")
        }
        do {
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            let code = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.code
            throw OutputFolderError(path: path, reason: "cannot create it" + (code.map { ": " + String(cString: strerror(Int32($0))) } ?? ""))
        }
    }
}

/// An output folder that cannot be used.
public struct OutputFolderError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
    public var errorDescription: String? { description }
}
