// LoaderEpoch: one epoch's batches, built by background threads and handed out in order.
//
// Workers claim batch numbers in increasing order, never more than `prefetch` ahead of the batch the
// consumer waits for, and store finished batches by number; `next()` blocks until the next number
// is ready. All shared state sits behind one NSCondition.
import Dispatch
import Foundation

/// The batches of one epoch, in order. Call `next()` until it returns nil; `cancel()` (or releasing
/// the object) stops the workers.
public final class LoaderEpoch: Sendable {
    private let state: EpochState
    /// The epoch number.
    public let epoch: Int

    init(loader: Loader, epoch: Int, plan: [[Int]], start: Int) {
        self.epoch = epoch
        state = EpochState(loader: loader, epoch: epoch, plan: plan, start: start)
    }

    // Workers hold only the state, so dropping the epoch object stops them.
    deinit { state.cancel() }

    /// Number of batches in the whole epoch.
    public var batchCount: Int { state.plan.count }

    /// The next batch in order, waiting for it if needed; nil after the last one (or once
    /// cancelled). Throws the decode error of a batch whose slices could not be read.
    public func next() throws -> Batch? { try state.next() }

    /// `next()` for async callers (a training actor): the wait happens on a Dispatch thread, not on
    /// the caller's executor.
    public func nextAsync() async throws -> Batch? {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try self.next() }) }
        }
    }

    /// Stops the workers after the batches they are building; later `next()` calls return nil.
    public func cancel() { state.cancel() }
}

/// The shared state of an epoch's workers and its consumer.
private final class EpochState: @unchecked Sendable {
    // @unchecked: every mutable field below is read and written only with `condition` held.
    private let condition = NSCondition()
    private let loader: Loader
    let plan: [[Int]]
    let epoch: Int
    private var nextToClaim: Int
    private var nextToDeliver: Int
    private var ready: [Int: Result<Batch, Error>] = [:]
    private var cancelled = false

    init(loader: Loader, epoch: Int, plan: [[Int]], start: Int) {
        self.loader = loader
        self.plan = plan
        self.epoch = epoch
        nextToClaim = max(0, start)
        nextToDeliver = max(0, start)
        let workers = max(1, min(loader.configuration.workers, plan.count - nextToClaim))
        guard nextToClaim < plan.count else { return }
        for _ in 0..<workers {
            Thread.detachNewThread { [self] in work() }
        }
    }

    private func work() {
        let ahead = max(1, loader.configuration.prefetch)
        while true {
            condition.lock()
            while !cancelled && nextToClaim < plan.count && nextToClaim >= nextToDeliver + ahead {
                condition.wait()
            }
            if cancelled || nextToClaim >= plan.count {
                condition.unlock()
                return
            }
            let number = nextToClaim
            nextToClaim += 1
            condition.unlock()

            let result = Result { try loader.makeBatch(epoch: epoch, index: number, members: plan[number]) }

            condition.lock()
            ready[number] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        guard nextToDeliver < plan.count, !cancelled else { return nil }
        while ready[nextToDeliver] == nil { condition.wait() }
        let result = ready.removeValue(forKey: nextToDeliver)!
        nextToDeliver += 1
        condition.broadcast()
        return try result.get()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
