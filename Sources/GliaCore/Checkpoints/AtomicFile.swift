// Atomic file replacement: write a hidden temporary file in the destination folder, fsync it, rename
// it over the destination, fsync the folder. A crash leaves either the old file or the new one, never
// half of one. Checkpoints and run configurations are saved this way.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file that could not be written, with the reason.
public struct AtomicFileError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    public let reason: String
    public var description: String { "\(path): cannot write file: \(reason)" }
    public var errorDescription: String? { description }
}

/// Crash-safe file replacement.
public enum AtomicFile {
    /// Replaces `url` with `data`.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { sink in try sink(data) }
    }

    /// Runs `body` with a sink that appends to a temporary file beside `url`, then fsyncs and renames
    /// it to `url`. On any failure the temporary file is removed and `url` is untouched.
    public static func write(to url: URL, _ body: ((Data) throws -> Void) throws -> Void) throws {
        func fail(_ reason: String) -> AtomicFileError { AtomicFileError(path: url.path, reason: reason) }
        let directory = url.deletingLastPathComponent().path
        let temporary = "\(directory)/.\(url.lastPathComponent).tmp-\(UUID().uuidString)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot create \(temporary): \(errnoText())") }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temporary) }
        }
        try body { data in
            try data.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw fail("write: \(errnoText())") }
                    done += n
                }
            }
        }
        guard fsync(fd) == 0 else { throw fail("fsync: \(errnoText())") }
        closed = true
        guard close(fd) == 0 else { throw fail("close: \(errnoText())") }
        guard rename(temporary, url.path) == 0 else { throw fail("rename: \(errnoText())") }
        renamed = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
