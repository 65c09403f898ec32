import Dispatch
import Foundation
import GliaCore
import XCTest

/// Threading per path: OpenBLAS stays on one thread per call, and each path's parallelFor worker
/// count is its own, also while another path runs with a different one.
final class ThreadingTests: XCTestCase {
    func testOpenBLASRunsEveryProductOnOneThread() {
        XCTAssertEqual(BLAS.threadCount, 1)
    }

    /// The kernels reported are the ones OpenBLAS runs, and OPENBLAS_CORETYPE is obeyed, not overridden.
    func testKernelsAreTheLibrarysAndObeyTheEnvironment() {
        let kernels = BLAS.kernels
        XCTAssertFalse(kernels.family.isEmpty)
        let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        XCTAssertEqual(kernels.forcedBy, forced)
        if let forced, kernels.cpuRunsAVX512 || !["skylakex", "cooperlake"].contains(forced.lowercased()) {
            XCTAssertEqual(kernels.family.lowercased(), forced.lowercased())
        }
    }

    /// Only AVX2 kernels on an AVX-512 CPU draw a note, which names the variable that forced them.
    func testKernelWarningOnlyWhereTheKernelsAreBelowTheCPU() {
        let forced = BLAS.Kernels(family: "Haswell", forcedBy: "Haswell", cpuRunsAVX512: true)
        XCTAssertTrue(forced.isBelowHost)
        XCTAssertTrue(forced.warning?.contains("OPENBLAS_CORETYPE=Haswell forces") == true, forced.warning ?? "nil")
        XCTAssertTrue(forced.warning?.contains("unset it") == true)
        XCTAssertEqual(forced.description, "Haswell (OPENBLAS_CORETYPE=Haswell)")
        let chosen = BLAS.Kernels(family: "Zen", forcedBy: nil, cpuRunsAVX512: true)
        XCTAssertTrue(chosen.warning?.contains("OpenBLAS chose") == true)
        XCTAssertNil(BLAS.Kernels(family: "Haswell", forcedBy: nil, cpuRunsAVX512: false).warning)
        XCTAssertNil(BLAS.Kernels(family: "Cooperlake", forcedBy: nil, cpuRunsAVX512: true).warning)
        XCTAssertEqual(BLAS.Kernels(family: "SkylakeX", forcedBy: nil, cpuRunsAVX512: true).description, "SkylakeX")
    }

    func testProductSplitOverWorkersMatchesOneCall() {
        var rng = RandomGenerator(seed: 3)
        let (m, n, k) = (300, 70, 50)
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        for transposeA in [false, true] {
            let lda = transposeA ? m : k
            var whole = [Float](repeating: 0, count: m * n), split = whole
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                whole.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(transposeA: transposeA, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                              b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
                }
                ParallelConfig.withWorkers(3) {
                    split.withUnsafeMutableBufferPointer { pc in
                        BLAS.gemmAcrossWorkers(transposeA: transposeA, m: m, n: n, k: k, a: pa.baseAddress!,
                                               lda: lda, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
                    }
                }
            } }
            let worst = zip(whole, split).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5, "transposeA \(transposeA)")
        }
    }

    func testTwoPathsRunningAtOnceKeepTheirOwnWorkerCounts() {
        let log = PathLog()
        let counts = [1, 3]
        let ready = counts.map { _ in DispatchSemaphore(value: 0) }
        let group = DispatchGroup()
        for (path, workers) in counts.enumerated() {
            DispatchQueue.global().async(group: group) {
                var rng = RandomGenerator(seed: UInt64(path))
                let conv = Conv2D(name: "conv", inChannels: 8, outChannels: 16, kernelSize: 3, padding: 1, rng: &rng)
                let x = Tensor(shape: [2, 24, 24, 8]) { _ in rng.uniform(-1, 1) }
                let reference = conv.forward(x, mode: .inference)
                // Both paths start together, so their loops overlap.
                ready[path].signal()
                ready[1 - path].wait()
                ParallelConfig.withWorkers(workers) {
                    for _ in 0..<200 {
                        let chunks = ChunkCounter()
                        parallelFor(4096, minimumChunk: 1) { _ in chunks.add() }
                        let y = conv.forward(x, mode: .inference)
                        let drift = zip(y.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? 0
                        log.record(path: path, workers: ParallelConfig.workerCount, chunks: chunks.value,
                                   blasThreads: BLAS.threadCount, drift: drift)
                    }
                }
            }
        }
        group.wait()
        for (path, workers) in counts.enumerated() {
            let seen = log.entries(path: path)
            XCTAssertEqual(seen.count, 200)
            XCTAssertTrue(seen.allSatisfy { $0.workers == workers && $0.chunks == workers },
                          "path \(path) left its \(workers) workers: \(Set(seen.map { "\($0.workers)/\($0.chunks)" }))")
            XCTAssertTrue(seen.allSatisfy { $0.blasThreads == 1 }, "OpenBLAS left one thread on path \(path)")
            XCTAssertLessThan(seen.map(\.drift).max() ?? 0, 1e-5, "path \(path) output changed with its workers")
        }
        XCTAssertEqual(ParallelConfig.workerCount, ParallelConfig.defaultWorkerCount)
    }
}

/// What one iteration of a path saw.
private struct PathEntry {
    let workers: Int, chunks: Int, blasThreads: Int
    let drift: Float
}

/// Entries of both paths, recorded from their threads under a lock.
private final class PathLog: @unchecked Sendable {
    private let lock = NSLock()
    private var byPath: [Int: [PathEntry]] = [:]

    func record(path: Int, workers: Int, chunks: Int, blasThreads: Int, drift: Float) {
        lock.withLock {
            byPath[path, default: []].append(PathEntry(workers: workers, chunks: chunks, blasThreads: blasThreads,
                                                       drift: drift))
        }
    }

    func entries(path: Int) -> [PathEntry] { lock.withLock { byPath[path] ?? [] } }
}

/// Counts parallelFor's chunks, which its workers report at once.
private final class ChunkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
