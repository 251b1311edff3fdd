import COpenBLAS

extension Kernels {
    /// C = alpha · op(A) · op(B) + beta · C, through OpenBLAS `cblas_sgemm` (row-major).
    ///
    /// op(A) is (M,K), op(B) is (K,N), C is (M,N). A is stored (M,K), or (K,M) when `transposeA`;
    /// B is stored (K,N), or (N,K) when `transposeB`. Leading dimensions are the stored row lengths.
    public static func gemm(
        transposeA: Bool,
        transposeB: Bool,
        M: Int,
        N: Int,
        K: Int,
        alpha: Float,
        a: UnsafePointer<Float>,
        lda: Int,
        b: UnsafePointer<Float>,
        ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>,
        ldc: Int
    ) {
        EngineThreads.configure()
        if M == 0 || N == 0 { return }
        if K == 0 {
            for i in 0..<M { for j in 0..<N { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        // OpenBLAS runs single-threaded (see EngineThreads); large products are split into column
        // blocks (or row blocks when N is small) over the engine's own threads, so OpenBLAS's
        // spinning workers never compete with the engine's loops for the cores.
        let threads = EngineThreads.count
        let work = M * N * K
        let ta = transposeA ? CblasTrans : CblasNoTrans
        let tb = transposeB ? CblasTrans : CblasNoTrans
        if threads > 1 && work >= 1 << 20 && N >= 32 * threads {
            let block = ((N + threads - 1) / threads + 15) / 16 * 16
            let blocks = (N + block - 1) / block
            let pa = UncheckedSendable(a)
            let pb = UncheckedSendable(b)
            let pc = UncheckedSendable(c)
            parallelChunks(blocks, costPerItem: 1 << 20) { range in
                for j in range {
                    let j0 = j * block
                    let n = min(block, N - j0)
                    cblas_sgemm(
                        CblasRowMajor,
                        ta,
                        tb,
                        Int32(M),
                        Int32(n),
                        Int32(K),
                        alpha,
                        pa.value,
                        Int32(lda),
                        pb.value + (transposeB ? j0 * ldb : j0),
                        Int32(ldb),
                        beta,
                        pc.value + j0,
                        Int32(ldc)
                    )
                }
            }
        } else if threads > 1 && work >= 1 << 20 && M >= 16 * threads {
            let block = ((M + threads - 1) / threads + 7) / 8 * 8
            let blocks = (M + block - 1) / block
            let pa = UncheckedSendable(a)
            let pb = UncheckedSendable(b)
            let pc = UncheckedSendable(c)
            parallelChunks(blocks, costPerItem: 1 << 20) { range in
                for i in range {
                    let i0 = i * block
                    let m = min(block, M - i0)
                    cblas_sgemm(
                        CblasRowMajor,
                        ta,
                        tb,
                        Int32(m),
                        Int32(N),
                        Int32(K),
                        alpha,
                        pa.value + (transposeA ? i0 : i0 * lda),
                        Int32(lda),
                        pb.value,
                        Int32(ldb),
                        beta,
                        pc.value + i0 * ldc,
                        Int32(ldc)
                    )
                }
            }
        } else {
            cblas_sgemm(
                CblasRowMajor,
                ta,
                tb,
                Int32(M),
                Int32(N),
                Int32(K),
                alpha,
                a,
                Int32(lda),
                b,
                Int32(ldb),
                beta,
                c,
                Int32(ldc)
            )
        }
    }

    /// Array form: returns op(A)·op(B)·alpha + beta·C for A, B (and optional C) stored densely.
    public static func gemm(
        _ a: [Float],
        _ b: [Float],
        M: Int,
        N: Int,
        K: Int,
        transposeA: Bool = false,
        transposeB: Bool = false,
        alpha: Float = 1,
        beta: Float = 0,
        c: [Float]? = nil
    ) -> [Float] {
        precondition(
            a.count == M * K && b.count == K * N,
            "gemm: A has \(a.count), B has \(b.count) for M=\(M) N=\(N) K=\(K)"
        )
        var out = c ?? [Float](repeating: 0, count: M * N)
        precondition(out.count == M * N, "gemm: C has \(out.count) elements for M=\(M) N=\(N)")
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                    gemm(
                        transposeA: transposeA,
                        transposeB: transposeB,
                        M: M,
                        N: N,
                        K: K,
                        alpha: alpha,
                        a: pa,
                        lda: transposeA ? M : K,
                        b: pb,
                        ldb: transposeB ? K : N,
                        beta: c == nil ? 0 : beta,
                        c: pc,
                        ldc: N
                    )
                }
            }
        }
        return out
    }
}
