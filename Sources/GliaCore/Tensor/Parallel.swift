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

/// How many workers `parallelFor` uses: the number of cores, unless `GLIA_THREADS` says otherwise.
public enum ParallelConfig {
    public static let workerCount: Int = {
        if let s = getenvString("GLIA_THREADS"), let n = Int(s), n > 0 { return n }
        return max(1, activeProcessorCount())
    }()
}

#if canImport(Glibc)
import Glibc
@usableFromInline func activeProcessorCount() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
@usableFromInline func getenvString(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
#endif
