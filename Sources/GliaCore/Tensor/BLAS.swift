// BLAS: the one door to OpenBLAS. Nothing else in Glia calls cblas directly.
//
// Conventions: row-major matrices; `a` is m x k (or k x m when transposed), `b` is k x n (or n x k),
// `c` is m x n; leading dimensions are row lengths as stored. C = alpha * op(A) * op(B) + beta * C.
//
// Threading: OpenBLAS runs every product on the calling thread. Its thread count is one process-wide
// setting (the installed 0.3.21 has no per-thread `openblas_set_num_threads_local`), and changing it
// from inside a scope let two paths running at once (training and the workstation's background
// prediction) leave each other on the wrong count. So it is set to 1 once, before the first product,
// and never changed; the parallelism is Glia's own: model GEMMs run one block each on `parallelFor`
// workers, whose number each path sets for itself (`ParallelConfig.withWorkers`), and one large
// product is split over the workers by `gemmAcrossWorkers`.
//
// Kernels: OpenBLAS (DYNAMIC_ARCH) picks its kernel family for the CPU at load time, and
// OPENBLAS_CORETYPE overrides it. Glia keeps that choice, but says when the variable holds a host to
// less than it runs: `OPENBLAS_CORETYPE=Haswell` on an AVX-512 CPU halves the GEMM rate (a Zen 5 host:
// 205 against 400 GFLOP/s for 2048^2 on two workers, where OpenBLAS 0.3.21 picks Cooperlake itself).
import COpenBLAS

/// Matrix products over OpenBLAS, which is held to one thread per call.
public enum BLAS {
    /// C = alpha * op(A) op(B) + beta * C, single precision, row-major, on the calling thread.
    @inlinable
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        _ = libraryHeldToOneThread
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The same product with C's rows split over the calling path's `parallelFor` workers, for one
    /// large product made outside a worker (the benchmark's GEMM rate). Not for use inside a worker.
    public static func gemmAcrossWorkers(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // At least 64 rows a worker: thinner panels lose more to packing B than the extra core gives.
        parallelFor(m, minimumChunk: 64) { rows in
            // Row r of op(A) is row r of A, or column r of A when A is stored transposed.
            let aRows = a + (transposeA ? rows.lowerBound : rows.lowerBound * lda)
            gemm(transposeA: transposeA, transposeB: transposeB, m: rows.count, n: n, k: k, alpha: alpha,
                 a: aRows, lda: lda, b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
        }
    }

    /// Number of threads OpenBLAS uses for one call: 1 once Glia has made a product (see the file
    /// comment); reading it applies that setting first.
    public static var threadCount: Int {
        _ = libraryHeldToOneThread
        return Int(openblas_get_num_threads())
    }

    /// The OpenBLAS kernel family in use, and whether the environment forced it below the CPU.
    public struct Kernels: Sendable, Equatable {
        /// The family every product runs ("Cooperlake", "Haswell", ...), as OpenBLAS names it.
        public let family: String
        /// The value of OPENBLAS_CORETYPE, which chose `family`, or nil where OpenBLAS chose.
        public let forcedBy: String?
        /// Whether the CPU runs OpenBLAS's AVX-512 kernels.
        public let cpuRunsAVX512: Bool

        /// A family as OpenBLAS names it, the OPENBLAS_CORETYPE that forced it (nil: none), and the CPU.
        public init(family: String, forcedBy: String?, cpuRunsAVX512: Bool) {
            self.family = family; self.forcedBy = forcedBy; self.cpuRunsAVX512 = cpuRunsAVX512
        }

        /// True where `family` is an AVX2 family on a CPU that runs the AVX-512 ones.
        public var isBelowHost: Bool { cpuRunsAVX512 && BLAS.avx2Families.contains(family.lowercased()) }

        /// "Cooperlake", or "Haswell (OPENBLAS_CORETYPE=Haswell)" where the environment chose.
        public var description: String { forcedBy.map { "\(family) (OPENBLAS_CORETYPE=\($0))" } ?? family }

        /// A line for benchmarks and diagnostics where the kernels are below the host, else nil.
        public var warning: String? {
            guard isBelowHost else { return nil }
            let cause = forcedBy.map { "OPENBLAS_CORETYPE=\($0) forces" } ?? "OpenBLAS chose"
            return "note: \(cause) its AVX2 kernels (\(family)) on a CPU that runs AVX-512; "
                + (forcedBy == nil ? "a newer OpenBLAS picks its AVX-512 kernels"
                                   : "unset it to let OpenBLAS pick its AVX-512 kernels")
        }
    }

    /// The kernels OpenBLAS runs in this process.
    public static let kernels: Kernels = {
        let forced = getenvString("OPENBLAS_CORETYPE").flatMap { $0.isEmpty ? nil : $0 }
        return Kernels(family: String(cString: openblas_get_corename()), forcedBy: forced,
                       cpuRunsAVX512: glia_cpu_runs_avx512_kernels() != 0)
    }()

    /// OpenBLAS's AVX2 kernel families on x86.
    static let avx2Families: Set<String> = ["haswell", "zen"]

    /// Sets OpenBLAS to one thread the first time it is read (Swift runs a static initialiser once,
    /// thread-safely), so no product ever runs on OpenBLAS's own threads.
    @usableFromInline static let libraryHeldToOneThread: Bool = {
        openblas_set_num_threads(1)
        return true
    }()
}
