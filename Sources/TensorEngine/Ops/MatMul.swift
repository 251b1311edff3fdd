// Matrix products on OpenBLAS sgemm.

/// The matrix product a·b of (M,K) and (K,N). VJP: g·bᵀ and aᵀ·g.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul: needs matrices, got \(a.shape) and \(b.shape)")
    let M = transposeA ? a.shape[1] : a.shape[0]
    let K = transposeA ? a.shape[0] : a.shape[1]
    let K2 = transposeB ? b.shape[1] : b.shape[0]
    let N = transposeB ? b.shape[0] : b.shape[1]
    precondition(
        K == K2,
        "matmul: inner extents differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")"
    )
    OpCounters.increment(OpCounters.matmulCalls)
    let out = Tensor(
        shape: [M, N],
        scalars: Kernels.gemm(
            a.scalars,
            b.scalars,
            M: M,
            N: N,
            K: K,
            transposeA: transposeA,
            transposeB: transposeB
        )
    )
    return .record("matmul", out, inputs: [a, b]) { g, _, needed in
        // C = op(A)·op(B): dop(A) = g·op(B)ᵀ, dop(B) = op(A)ᵀ·g; transpose back when stored transposed.
        let ga: Tensor? =
            !needed[0]
            ? nil
            : (transposeA
                ? matmul(b, g, transposeA: transposeB, transposeB: true)
                : matmul(g, b, transposeA: false, transposeB: !transposeB))
        let gb: Tensor? =
            !needed[1]
            ? nil
            : (transposeB
                ? matmul(g, a, transposeA: true, transposeB: transposeA)
                : matmul(a, g, transposeA: !transposeA, transposeB: false))
        return [ga, gb]
    }
}

/// ONNX/BLAS Gemm: alpha·op(A)·op(B) + beta·C, with C broadcast to (M,N).
public func gemm(
    _ a: Tensor,
    _ b: Tensor,
    _ c: Tensor? = nil,
    alpha: Float = 1,
    beta: Float = 1,
    transposeA: Bool = false,
    transposeB: Bool = false
) -> Tensor {
    var y = matmul(a, b, transposeA: transposeA, transposeB: transposeB)
    if alpha != 1 { y = y * alpha }
    if let c, beta != 0 { y = y + (beta == 1 ? c : c * beta) }
    return y
}
