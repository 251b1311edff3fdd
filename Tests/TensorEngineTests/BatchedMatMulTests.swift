import TensorEngine
import TensorEngineTestSupport
import Testing

/// `batchedMatmul` against the naive triple loop, one batch at a time, the batch axes broadcast by
/// hand from their multi-indices.
@Suite("Batched matmul equals per-batch naive products")
struct BatchedMatMulTests {
    /// The matrix of `batchShape` that output batch `outIndex` reads (extent-1 axes broadcast).
    static func sourceBatch(_ outIndex: [Int], _ batchShape: [Int]) -> Int {
        let offset = outIndex.count - batchShape.count
        var flat = 0
        for axis in batchShape.indices {
            flat = flat * batchShape[axis] + (batchShape[axis] == 1 ? 0 : outIndex[axis + offset])
        }
        return flat
    }

    static func naive(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> (shape: [Int], [Float]) {
        let aBatch = Array(a.shape.dropLast(2))
        let bBatch = Array(b.shape.dropLast(2))
        let M = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        let K = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let N = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        let rank = max(aBatch.count, bBatch.count)
        let pa = [Int](repeating: 1, count: rank - aBatch.count) + aBatch
        let pb = [Int](repeating: 1, count: rank - bBatch.count) + bBatch
        let batch = zip(pa, pb).map { max($0, $1) }
        var out: [Float] = []
        for i in 0..<batch.reduce(1, *) {
            var index = [Int](repeating: 0, count: rank)
            var rest = i
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                index[axis] = rest % batch[axis]
                rest /= batch[axis]
            }
            let ia = sourceBatch(index, aBatch)
            let ib = sourceBatch(index, bBatch)
            out += NaiveKernels.gemm(
                Array(a.scalars[(ia * M * K)..<((ia + 1) * M * K)]),
                Array(b.scalars[(ib * K * N)..<((ib + 1) * K * N)]),
                M: M,
                N: N,
                K: K,
                transposeA: transposeA,
                transposeB: transposeB
            )
        }
        return (batch + [M, N], out)
    }

    @Test(arguments: [
        // (a shape, b shape) untransposed; the transposed variants swap the last two axes.
        ([2, 3, 4], [2, 4, 5]), ([1, 2, 3, 4], [1, 2, 4, 3]), ([3, 1, 2, 5], [4, 5, 3]), ([4, 5], [2, 3, 5, 2]),
        ([2, 3, 4], [4, 6]), ([300, 4, 8], [1, 8, 4]), ([2, 200, 128], [2, 128, 64]), ([2, 0, 4], [2, 4, 3]),
    ])
    func forward(_ shapes: ([Int], [Int])) {
        var rng = RandomGenerator(seed: 11)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            func stored(_ shape: [Int], _ transposed: Bool) -> [Int] {
                transposed ? Array(shape.dropLast(2)) + [shape[shape.count - 1], shape[shape.count - 2]] : shape
            }
            let a = Tensor.uniform(stored(shapes.0, ta), low: -1, high: 1, using: &rng)
            let b = Tensor.uniform(stored(shapes.1, tb), low: -1, high: 1, using: &rng)
            let fast = batchedMatmul(a, b, transposeA: ta, transposeB: tb)
            let (shape, expected) = Self.naive(a, b, transposeA: ta, transposeB: tb)
            guard fast.shape == shape else {
                Issue.record("shape \(fast.shape), expected \(shape): \(a.shape) tA=\(ta) · \(b.shape) tB=\(tb)")
                continue
            }
            #expect(
                Tolerance.scaledMaxError(fast.scalars, expected) < 1e-5,
                "\(a.shape) tA=\(ta) · \(b.shape) tB=\(tb)"
            )
        }
    }
}
