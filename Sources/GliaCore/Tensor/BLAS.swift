// BLAS: the one door to OpenBLAS. Nothing else in Glia calls cblas directly.
//
// Conventions: row-major matrices; `a` is m x k (or k x m when transposed), `b` is k x n (or n x k),
// `c` is m x n; leading dimensions are row lengths as stored. C = alpha * op(A) * op(B) + beta * C.
import COpenBLAS

/// Matrix products and thread control over OpenBLAS.
public enum BLAS {
    /// C = alpha * op(A) op(B) + beta * C, single precision, row-major.
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
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Number of threads OpenBLAS uses for one call.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }
}
