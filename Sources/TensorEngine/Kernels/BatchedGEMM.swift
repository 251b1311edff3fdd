extension Kernels {
    /// C[i] = op(A[i])·op(B[i]) for every index i of `batch`, the batch axes broadcast (NumPy rules).
    ///
    /// A is (aBatch..., M, K), or (aBatch..., K, M) when `transposeA`; B is (bBatch..., K, N), or
    /// (bBatch..., N, K) when `transposeB`; C is (batch..., M, N), where aBatch and bBatch broadcast
    /// to `batch`. Each product is one `gemm`; small products are spread over the engine's threads
    /// a batch at a time, large ones split inside `gemm`.
    public static func batchedGemm(
        _ a: [Float],
        aBatch: [Int],
        _ b: [Float],
        bBatch: [Int],
        batch: [Int],
        M: Int,
        N: Int,
        K: Int,
        transposeA: Bool = false,
        transposeB: Bool = false
    ) -> [Float] {
        let count = batch.reduce(1, *)
        precondition(
            broadcastShape(aBatch, batch) == batch && broadcastShape(bBatch, batch) == batch,
            "batchedGemm: batch shapes \(aBatch) and \(bBatch) do not broadcast to \(batch)"
        )
        precondition(
            a.count == aBatch.reduce(1, *) * M * K && b.count == bBatch.reduce(1, *) * K * N,
            "batchedGemm: A has \(a.count), B has \(b.count) for \(aBatch), \(bBatch), M=\(M) N=\(N) K=\(K)"
        )
        var out = [Float](repeating: 0, count: count * M * N)
        if count == 0 || M == 0 || N == 0 || K == 0 { return out }
        // Flat batch index → matrix offsets of A and B, through broadcast strides over batch indices.
        let aStrides = broadcastStrides(aBatch, into: batch)
        let bStrides = broadcastStrides(bBatch, into: batch)
        let batchStrides = contiguousStrides(batch)
        func offsets(_ i: Int) -> (Int, Int) {
            var oa = 0
            var ob = 0
            var rest = i
            for axis in batch.indices {
                let index = rest / batchStrides[axis]
                rest -= index * batchStrides[axis]
                oa += index * aStrides[axis]
                ob += index * bStrides[axis]
            }
            return (oa * M * K, ob * K * N)
        }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                    let sa = UncheckedSendable(pa)
                    let sb = UncheckedSendable(pb)
                    let sc = UncheckedSendable(pc)
                    let product = { (i: Int) in
                        let (oa, ob) = offsets(i)
                        gemm(
                            transposeA: transposeA,
                            transposeB: transposeB,
                            M: M,
                            N: N,
                            K: K,
                            alpha: 1,
                            a: sa.value + oa,
                            lda: transposeA ? M : K,
                            b: sb.value + ob,
                            ldb: transposeB ? K : N,
                            beta: 0,
                            c: sc.value + i * M * N,
                            ldc: N
                        )
                    }
                    if M * N * K >= 1 << 20 {
                        // Large products: `gemm` splits each over the threads itself.
                        for i in 0..<count { product(i) }
                    } else {
                        parallelChunks(count, costPerItem: max(1, M * N * K / 16)) { range in
                            for i in range { product(i) }
                        }
                    }
                }
            }
        }
        return out
    }
}
