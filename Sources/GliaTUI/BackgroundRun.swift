// Quitting while a run trains: the workstation asks, and either stops the run or hands it to a
// background `glia train --resume` that outlives the terminal.
//
// A run cannot leave the process it trains in (its threads die with it), so "keep training" stops
// it after the current step, which saves `last` exactly as Ctrl-C in `glia train` does, then
// starts `glia train --resume RUN` in a new session (setsid: no controlling terminal, so neither a
// closed window nor a dropped SSH connection sends it SIGHUP), its output in the run folder's
// background.log. The resumed run continues bit-identically (see TrainingRun.resume).
import Foundation
import GliaTraining

/// Where quitting with a live run stands.
enum DetachState: Sendable, Equatable {
    /// Nothing asked.
    case none
    /// The run was asked to stop after its step; with `resume` a background process then takes it
    /// over, else the workstation just exits once `last` is saved.
    case stopping(runID: String?, resume: Bool)
    /// The run is stopped (and, when asked, going on in the background): the workstation may exit.
    case done(String)
    /// Starting the background process failed; the run stays stopped.
    case failed(String)
}

extension Workbench {
    /// Whether a run started here is still preparing, training or paused.
    public var hasLiveRun: Bool { dashboard.liveSnapshot?.isLive == true }

    /// The id of the run started here, once it has one.
    public var liveRunID: String? { dashboard.liveSnapshot?.runID }

    /// Stops the live run after its step; the workstation exits once its `last` checkpoint is saved.
    public func stopLiveRun() {
        _ = dashboard.stopLive()
        detach = .stopping(runID: liveRunID, resume: false)
        pendingRedraw = true
    }

    /// Stops the live run after its step, then lets a background process go on with it.
    public func detachLiveRun() {
        _ = dashboard.stopLive()
        detach = .stopping(runID: liveRunID, resume: true)
        pendingRedraw = true
    }

    /// True while the answer to the quit question is being carried out (keys wait).
    public var isStoppingForQuit: Bool {
        if case .stopping = detach { return true }
        return false
    }

    /// Forgets a failed hand-over once a key was pressed after it was shown.
    func clearDetachFailure() {
        if case .failed = detach { detach = .none }
    }

    /// True once the workstation may exit after the quit question was answered.
    public var detachFinished: Bool {
        if case .done = detach { return true }
        return false
    }

    /// The status bar's line while the quit question's answer is carried out, or after it failed.
    public var detachStatus: String? {
        switch detach {
        case .none: nil
        case .stopping(let id, let resume):
            "\(id ?? "the run"): finishing the current step" + (resume ? ", then it goes on in the background..." : " and saving 'last'...")
        case .done(let text): text
        case .failed(let why): "cannot keep the run training: \(why)"
        }
    }

    /// Carries the answer on once the stopped run's history is stored; true when the state moved.
    func advanceDetach() -> Bool {
        guard case .stopping(let asked, let resume) = detach, let snapshot = dashboard.liveSnapshot, snapshot.historyComplete else {
            return false
        }
        guard resume else {
            detach = .done("stopped \(snapshot.runID ?? "the run")")
            return true
        }
        guard let id = snapshot.runID ?? asked, snapshot.phase == RunStatus.stopped.rawValue, let runStore else {
            detach = .failed("the run ended as \(snapshot.phase) before it could be handed over")
            return true
        }
        do {
            let pid = try BackgroundTraining.resume(runID: id, workspace: runStore.workspace.url,
                                                    log: runStore.folder(for: id).appendingPathComponent("background.log"))
            detach = .done("\(id) goes on in the background (process \(pid), log in its run folder)")
        } catch {
            detach = .failed("\(error) (resume it with: glia train --resume \(id))")
        }
        return true
    }
}

/// Starting `glia train --resume` detached from the terminal.
enum BackgroundTraining {
    /// glibc's POSIX_SPAWN_SETSID (spawn.h, 0x80), which Swift does not import (it sits behind _GNU_SOURCE).
    private static let setsid: Int32 = 0x80

    /// Starts `glia train --resume runID --workspace workspace` in a new session, output appended to
    /// `log`, input from /dev/null; returns its process id.
    static func resume(runID: String, workspace: URL, log: URL) throws -> Int32 {
        guard let executable = Bundle.main.executableURL?.path else {
            throw BackgroundTrainingError("cannot find the glia executable")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new session and the default signal actions: the workstation ignores or catches some.
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(Self.setsid | POSIX_SPAWN_SETSIGDEF))
        let arguments = [executable, "train", "--resume", runID, "--workspace", workspace.path]
        var cArguments = arguments.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, &attributes, &cArguments, environ)
        guard status == 0 else { throw BackgroundTrainingError("cannot start \(executable): \(String(cString: strerror(status)))") }
        return pid
    }
}

/// Why the background run could not be started.
struct BackgroundTrainingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
