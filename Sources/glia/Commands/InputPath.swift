// Checks of user-given paths, so every missing, unreadable or wrong-kind path gets one line naming it.
import ArgumentParser
import Foundation

enum InputPath {
    /// Throws unless `path` exists (file or folder) and is readable.
    static func requireExists(_ path: String, option: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(option): no such file or folder: \(path)")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ValidationError("\(option): not readable: \(path)")
        }
    }

    /// Throws unless `path` is a readable regular file.
    static func requireFile(_ path: String, option: String) throws {
        try requireExists(path, option: option)
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { throw ValidationError("\(option): is a folder, expected a file: \(path)") }
    }
}
