// Runs the built `glia` executable from end-to-end tests. The binary sits next to the test bundle
// (.build/<configuration>/glia), which `swift test` builds along with the tests.
import Foundation

/// The built glia executable and a way to run it to completion.
public enum GliaProcess {
    /// The executable next to the test bundle, or nil when it was not built.
    public static var executable: URL? {
        let directory = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("glia")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// Output of a finished run.
    public struct Result {
        public var status: Int32
        public var output: String
        public var errors: String
    }

    /// Runs glia with `arguments` (and extra environment) and waits for it to exit.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        guard let executable else { throw TmuxError(message: "no glia executable next to the test bundle") }
        return try run(program: executable, arguments, environment: environment)
    }

    /// Runs any program with `arguments` (and extra environment) and waits for it to exit.
    public static func run(program executable: URL, _ arguments: [String],
                           environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read stderr on another thread so a chatty stderr cannot block the child.
        let errors = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errors.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        group.wait()
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
                      errors: String(decoding: errors.data, as: UTF8.self))
    }
}

/// Bytes filled by one thread and read after it finished (ordered by a DispatchGroup).
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
