import COpenBLAS

extension Kernels {
    /// C = alpha · op(A) · op(B) + beta · C, through OpenBLAS `cblas_sgemm` (row-major).
    ///
    /// op(A) is (M,K), op(B) is (K,N), C is (M,N). A is stored (M,K), or (K,M) when `transposeA`;
    /// B is stored (K,N), or (N,K) when `transposeB`. Leading dimensions are the stored row lengths.
    public static func gemm(
        transposeA: Bool, transposeB: Bool, M: Int, N: Int, K: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        EngineThreads.configure()
        if M == 0 || N == 0 { return }
        if K == 0 {
            for i in 0..<M { for j in 0..<N { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(M), Int32(N), Int32(K), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Array form: returns op(A)·op(B)·alpha + beta·C for A, B (and optional C) stored densely.
    public static func gemm(
        _ a: [Float], _ b: [Float], M: Int, N: Int, K: Int,
        transposeA: Bool = false, transposeB: Bool = false,
        alpha: Float = 1, beta: Float = 0, c: [Float]? = nil
    ) -> [Float] {
        precondition(a.count == M * K && b.count == K * N, "gemm: A has \(a.count), B has \(b.count) for M=\(M) N=\(N) K=\(K)")
        var out = c ?? [Float](repeating: 0, count: M * N)
        precondition(out.count == M * N, "gemm: C has \(out.count) elements for M=\(M) N=\(N)")
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                    gemm(
                        transposeA: transposeA, transposeB: transposeB, M: M, N: N, K: K,
                        alpha: alpha, a: pa, lda: transposeA ? M : K, b: pb, ldb: transposeB ? K : N,
                        beta: c == nil ? 0 : beta, c: pc, ldc: N)
                }
            }
        }
        return out
    }
}
