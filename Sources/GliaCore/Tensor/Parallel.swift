// Parallel: data-parallel loops for the elementwise and im2col work around GEMM.
// GliaCore owns no threads; this borrows Dispatch's pool for the length of one call.
import Dispatch

/// Splits `0..<count` into contiguous chunks and runs `body(range)` on each, in parallel when
/// the work is large enough to pay for it. `body` must only write disjoint data per range.
@inlinable
public func parallelFor(_ count: Int, minimumChunk: Int = 4096, _ body: (Range<Int>) -> Void) {
    let workers = min(ParallelConfig.workerCount, max(1, count / max(1, minimumChunk)))
    if workers <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let chunk = (count + workers - 1) / workers
    // The caller promises disjoint writes per range, which is what makes sharing `body` safe.
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = w * chunk
            let end = min(count, start + chunk)
            if start < end { shared.value(start..<end) }
        }
    }
}

/// Wraps a value the compiler cannot prove Sendable when the caller guarantees safe sharing
/// (pointers into disjoint regions of one buffer, say).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    @inlinable public init(_ value: Value) { self.value = value }
}

/// How many workers `parallelFor` uses: the number of cores, unless `GLIA_THREADS` says otherwise, or
/// fewer on a path that asked for fewer with `withWorkers`.
///
/// A path (training, the workstation's background prediction) sets its count for itself: the limit is
/// a task-local value (bound to the thread outside a task), so two paths running at once never see
/// each other's, and nothing process-wide changes. `parallelFor` reads it once per call, on the calling
/// path; its workers run the body with the count already fixed.
public enum ParallelConfig {
    /// The process-wide default: `GLIA_THREADS` when set to a positive number, else the online cores.
    public static let defaultWorkerCount: Int = {
        if let s = getenvString("GLIA_THREADS"), let n = Int(s), n > 0 { return n }
        return max(1, activeProcessorCount())
    }()

    /// The calling path's limit, nil where it set none.
    @TaskLocal private static var pathWorkerCount: Int? = nil

    /// Workers `parallelFor` uses on the calling path.
    public static var workerCount: Int { pathWorkerCount ?? defaultWorkerCount }

    /// Runs `body` with `parallelFor` using `count` workers (at least 1) on the calling path
    /// only: the calling task and the tasks it creates, or the calling thread outside a task.
    public static func withWorkers<T>(_ count: Int, _ body: () throws -> T) rethrows -> T {
        try $pathWorkerCount.withValue(max(1, count), operation: body)
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func activeProcessorCount() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
@usableFromInline func getenvString(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
#endif
