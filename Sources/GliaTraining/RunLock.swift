// One process trains a run at a time. Two writers of one run (a resume while the run still trains,
// or two resumes at once) would both write `last.safetensors` and the history, each undoing the
// other. A run's folder holds `run.lock`, held with flock(2) by the process training it: the kernel
// drops the lock when that process ends in any way (kill -9 included), so a stale lock cannot outlive
// its owner, and the check and the claim are one atomic step.
import Foundation

/// Exclusive ownership of a run's folder for as long as this object lives.
public final class RunLock: Sendable {
    /// Name of the lock file in the run folder.
    public static let fileName = "run.lock"
    private let descriptor: Int32

    /// Claims the run in `folder`; throws naming `owner` (the recorded pid and host) when another
    /// process holds it.
    public init(folder: URL, runID: String, owner: String?) throws {
        let path = folder.appendingPathComponent(Self.fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TrainingDataError("cannot open the lock of run \(runID) (\(path)): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(fd)
            if busy {
                throw TrainingDataError("run \(runID) is being trained by another process"
                    + (owner.map { " (\($0))" } ?? "") + "; wait for it to end or stop it first")
            }
            throw TrainingDataError("cannot lock run \(runID) (\(path)): \(reason)")
        }
        descriptor = fd
    }

    deinit { close(descriptor) }
}
