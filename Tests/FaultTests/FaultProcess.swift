// Runs the glia executable with a deadline, for fault cases whose failure mode is a hang: a command
// still running at the deadline is killed and reported as timed out rather than blocking the suite.
import Foundation
import GliaTestSupport
import XCTest

enum FaultProcess {
    struct Result {
        var status: Int32
        var output: String
        var timedOut: Bool
    }

    /// Runs glia with `arguments`, stdout and stderr together, killed after `seconds`.
    static func run(_ arguments: [String], seconds: Double = 30) throws -> Result {
        let executable = try XCTUnwrap(GliaProcess.executable, "glia executable not built")
        return try runTool(executable.path, arguments, seconds: seconds)
    }

    /// Runs the program at `path` likewise.
    static func runTool(_ path: String, _ arguments: [String], seconds: Double = 30) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        let output = OutputBox()
        let reader = Thread { output.data = pipe.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let timedOut = exited.wait(timeout: .now() + seconds) == .timedOut
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
        }
        while !output.done { usleep(10_000) }
        return Result(status: process.terminationStatus, output: String(decoding: output.data, as: UTF8.self),
                      timedOut: timedOut)
    }
}

/// Output read by one thread and polled by another until `done`.
private final class OutputBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = Data()
    private var finished = false
    var data: Data {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue; finished = true } }
    }
    var done: Bool { lock.withLock { finished } }
}
