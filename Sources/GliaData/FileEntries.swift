// What a path is, from stat(2), before anything opens it. Opening a FIFO named like a slice (or a
// CSV) blocks until a writer appears, so only regular files are read; and folders are listed from
// raw directory entries, so a name that is not UTF-8 or a link that leads nowhere is named as a
// problem instead of vanishing (Foundation's listing drops or mangles such names).
import Foundation

/// The type of a file system entry, links followed.
public enum FileKind: Equatable, Sendable {
    case regular, directory, fifo, socket, device, other
    /// A symbolic link that leads nowhere (`ELOOP`: a loop; `ENOENT`: a missing target).
    case brokenLink(String)

    /// The kind at `path`, or nil when nothing is there.
    public static func of(_ path: String) -> FileKind? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ELOOP ? "symbolic link loop" : String(cString: strerror(errno))
            var link = stat()
            return lstat(path, &link) == 0 ? .brokenLink(reason) : nil
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        case S_IFCHR, S_IFBLK: return .device
        default: return .other
        }
    }

    /// How the kind reads in a message.
    public var name: String {
        switch self {
        case .regular: return "a regular file"
        case .directory: return "a folder"
        case .fifo: return "a FIFO"
        case .socket: return "a socket"
        case .device: return "a device"
        case .other: return "not a regular file"
        case .brokenLink(let reason): return "a broken link (\(reason))"
        }
    }

    /// Throws unless `url` is a regular file (or absent, for the caller's own "no such file").
    public static func requireRegular(_ url: URL) throws {
        guard let kind = of(url.path), kind != .regular else { return }
        throw DatasetError(path: url.path, message: "is \(kind.name), not a regular file; not read")
    }
}

/// One entry of a folder listing.
public struct FolderEntry: Equatable, Sendable {
    public var name: String
    public var url: URL
    public var kind: FileKind
}

/// Folder listings that report what they cannot use.
public enum FolderListing {
    /// The non-hidden entries of `folder`, sorted by name, plus a problem for each entry whose name
    /// is not UTF-8 or whose link is broken. Throws when the folder cannot be listed.
    public static func entries(of folder: URL) throws -> (entries: [FolderEntry], problems: [DataProblem]) {
        guard let stream = opendir(folder.path) else {
            throw DatasetError(path: folder.path, message: "cannot list folder: \(String(cString: strerror(errno)))")
        }
        defer { closedir(stream) }
        var entries: [FolderEntry] = []
        var problems: [DataProblem] = []
        while let entry = readdir(stream) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                problems.append(DataProblem(.unexpectedFile, .error, path: folder.appendingPathComponent(escaped(bytes)).path,
                                            detail: "name is not valid UTF-8; not used (rename it)"))
                continue
            }
            guard !name.hasPrefix(".") else { continue }
            let url = folder.appendingPathComponent(name)
            guard let kind = FileKind.of(url.path) else { continue }
            if case .brokenLink = kind {
                problems.append(DataProblem(.unexpectedFile, .error, path: url.path, detail: "is \(kind.name); not used"))
                continue
            }
            entries.append(FolderEntry(name: name, url: url, kind: kind))
        }
        return (entries.sorted { $0.name < $1.name }, problems)
    }

    /// The name with bytes that are not printable ASCII written as \xNN, for messages.
    static func escaped(_ bytes: [UInt8]) -> String {
        bytes.map { (32..<127).contains($0) && $0 != 0x5C ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
    }
}
