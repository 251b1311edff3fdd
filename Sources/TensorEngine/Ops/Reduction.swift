// Reductions. `keepDims: false` drops the reduced axes; axes may be negative.

extension Tensor {
    func reducedShape(_ axes: [Int], keepDims: Bool) -> (axes: [Int], kept: [Int], out: [Int]) {
        let normalized = Array(Set(axes.map { normalizedAxis($0, rank: rank) })).sorted()
        var kept = shape
        for a in normalized { kept[a] = 1 }
        let out = keepDims ? kept : shape.indices.filter { !normalized.contains($0) }.map { shape[$0] }
        return (normalized, kept, out)
    }

    /// The sum over `axes` (all axes when `nil`). VJP: broadcast of g.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let (axes, kept, outShape) = reducedShape(axes ?? Array(0..<rank), keepDims: keepDims)
        let out = Tensor(shape: outShape, scalars: Kernels.sum(scalars, shape, axes: axes))
        let inShape = shape
        return .record("sum", out, inputs: [self]) { g, _ in [g.reshaped(kept).broadcast(to: inShape)] }
    }

    /// The mean over `axes` (all axes when `nil`).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let (normalized, _, _) = reducedShape(axes ?? Array(0..<rank), keepDims: keepDims)
        let n = normalized.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims) / Float(n)
    }

    /// The maximum over `axes` (all axes when `nil`); the gradient goes to the first maximum.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let (axes, kept, outShape) = reducedShape(axes ?? Array(0..<rank), keepDims: keepDims)
        // Move the reduced axes last, flatten them, and take the max of each row.
        let others = (0..<rank).filter { !axes.contains($0) }
        let perm = others + axes
        let rows = others.reduce(1) { $0 * shape[$1] }
        let width = axes.reduce(1) { $0 * shape[$1] }
        let moved = Kernels.permute(scalars, shape, perm)
        let (_, argRow) = Kernels.maxAxis(moved, [rows, width], axis: 1)
        // Map each winner's position in the permuted buffer back to its flat index in self.
        let strides = contiguousStrides(shape)
        let permutedShape = perm.map { shape[$0] }
        let permutedStrides = contiguousStrides(permutedShape)
        let flat: [Int32] = argRow.map { p in
            var rem = Int(p)
            var index = 0
            for (k, axis) in perm.enumerated() {
                index += (rem / permutedStrides[k]) * strides[axis]
                rem %= permutedStrides[k]
            }
            return Int32(index)
        }
        return gatherFlat(indices: flat, shape: outShape).reshaped(keepDims ? kept : outShape)
    }

    /// The flat index of the maximum along `axis` (no gradient); first index wins ties.
    public func argmax(axis: Int) -> [Int] {
        let a = normalizedAxis(axis, rank: rank)
        let (_, flat) = Kernels.maxAxis(scalars, shape, axis: a)
        let inner = shape[(a + 1)...].reduce(1, *)
        return flat.map { (Int($0) / inner) % shape[a] }
    }
}
