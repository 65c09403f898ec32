// The phantom set and tmux sessions that the end-to-end workstation tests share.
import Foundation
import GliaTestSupport
import XCTest

/// A four-patient phantom set in a scratch folder of its own (one per test class, removed in the
/// class's tearDown), shared by the workstation end-to-end tests.
final class PhantomWorkbench: Sendable {
    let work: URL
    let dataset: Result<URL, TmuxError>

    init(name: String) {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("glia-e2e-\(name)-\(getpid())")
        let url = work.appendingPathComponent("data")
        dataset = Result {
            let result = try GliaProcess.run(["synth", "--out", url.path, "--patients", "4"])
            guard result.status == 0 else { throw TmuxError(message: "glia synth failed: \(result.errors)") }
            return url
        }.mapError { $0 as? TmuxError ?? TmuxError(message: "\($0)") }
    }

    /// Removes the scratch folder.
    func remove() { try? FileManager.default.removeItem(at: work) }

    /// A tmux session (or a skip without tmux or without a built glia).
    func session(columns: Int = 130, rows: Int = 40) throws -> TmuxSession {
        guard TmuxSession.executable != nil else { throw XCTSkip("skipped: tmux is not installed") }
        guard GliaProcess.executable != nil else { throw XCTSkip("skipped: no glia executable next to the test bundle") }
        return try TmuxSession(columns: columns, rows: rows)
    }

    /// The command line starting glia on the phantom set with `workspace`; its pid goes to `pidFile`
    /// (the shell execs glia, so the pid is glia's).
    func command(workspace: URL, pidFile: URL) throws -> String {
        guard let glia = GliaProcess.executable?.path else { throw XCTSkip("skipped: no glia executable next to the test bundle") }
        return "cd \(work.path) && TERM=tmux-256color COLORTERM= sh -c 'echo $$ > \(pidFile.path); exec \(glia) --data \(try dataset.get().path) --workspace \(workspace.path)'; echo rc=$?"
    }
}
