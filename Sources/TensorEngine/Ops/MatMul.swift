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

/// Matrix products over batches (NumPy `matmul`): a is (aBatch..., M, K) and b is (bBatch..., K, N),
/// each read transposed in its last two axes when asked; the batch axes broadcast, and the result is
/// (batch..., M, N). Two matrices go to `matmul`, and a batch against one matrix is folded into a
/// single matrix product. VJP: g·op(B)ᵀ and op(A)ᵀ·g per batch, summed over broadcast batch axes.
public func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank >= 2 && b.rank >= 2, "batchedMatmul: needs matrices or batches, got \(a.shape) and \(b.shape)")
    if a.rank == 2 && b.rank == 2 { return matmul(a, b, transposeA: transposeA, transposeB: transposeB) }
    let aBatch = Array(a.shape.dropLast(2))
    let bBatch = Array(b.shape.dropLast(2))
    let M = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
    let K = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
    let K2 = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
    let N = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
    precondition(
        K == K2,
        "batchedMatmul: inner extents differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")"
    )
    guard let batch = Kernels.broadcastShape(aBatch, bBatch) else {
        preconditionFailure("batchedMatmul: batch axes of \(a.shape) and \(b.shape) do not broadcast")
    }
    if b.rank == 2 && !transposeA {
        // (aBatch..., M, K)·(K, N): the rows of every batch are rows of one (aBatch·M, K) matrix.
        return matmul(a.reshaped([-1, K]), b, transposeB: transposeB).reshaped(batch + [M, N])
    }
    OpCounters.increment(OpCounters.matmulCalls)
    let out = Tensor(
        shape: batch + [M, N],
        scalars: Kernels.batchedGemm(
            a.scalars,
            aBatch: aBatch,
            b.scalars,
            bBatch: bBatch,
            batch: batch,
            M: M,
            N: N,
            K: K,
            transposeA: transposeA,
            transposeB: transposeB
        )
    )
    return .record("batchedMatmul", out, inputs: [a, b]) { g, _, needed in
        // As for `matmul`, per batch; a gradient with a broadcast batch axis is summed over it.
        let ga: Tensor? =
            !needed[0]
            ? nil
            : (transposeA
                ? batchedMatmul(b, g, transposeA: transposeB, transposeB: true)
                : batchedMatmul(g, b, transposeA: false, transposeB: !transposeB)).sumToShape(a.shape)
        let gb: Tensor? =
            !needed[1]
            ? nil
            : (transposeB
                ? batchedMatmul(g, a, transposeA: true, transposeB: transposeA)
                : batchedMatmul(a, g, transposeA: !transposeA, transposeB: false)).sumToShape(b.shape)
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
