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
        /// True when the run was still going at its deadline and was killed.
        public var timedOut = false
        /// Standard output, then standard error.
        public var transcript: String { output + errors }
    }

    /// Runs glia with `arguments` (and extra environment) and waits for it to exit, or kills it at
    /// `timeout` seconds (for fault cases whose failure mode is a hang).
    public static func run(_ arguments: [String], environment: [String: String] = [:],
                           timeout: Double? = nil) throws -> Result {
        guard let executable else { throw TmuxError(message: "no glia executable next to the test bundle") }
        return try run(program: executable, arguments, environment: environment, timeout: timeout)
    }

    /// Runs any program with `arguments` (and extra environment) and waits for it to exit, or
    /// kills it at `timeout` seconds.
    public static func run(program executable: URL, _ arguments: [String],
                           environment: [String: String] = [:], timeout: Double? = nil) throws -> Result {
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
        let killed = DataBox()
        if let timeout {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                guard process.isRunning else { return }
                killed.data = Data([1])
                kill(pid, SIGKILL)
            }
        }
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
                      errors: String(decoding: errors.data, as: UTF8.self), timedOut: !killed.data.isEmpty)
    }
}

/// Bytes filled by one thread and read by another, under a lock.
private final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = Data()
    var data: Data {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
