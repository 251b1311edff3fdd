// Data-movement kernels: transpose, strided slice and its adjoint, constant padding, concatenation,
// and flat gather / scatter-add (the pair behind max pooling, max reductions and Gather).

extension Kernels {
    /// out = x transposed: out axis i is input axis `permutation[i]`.
    public static func permute(_ x: [Float], _ shape: [Int], _ permutation: [Int]) -> [Float] {
        precondition(permutation.sorted() == Array(0..<shape.count), "permute: \(permutation) for shape \(shape)")
        let outShape = permutation.map { shape[$0] }
        let inStrides = contiguousStrides(shape)
        let merged = coalesce(outShape, [permutation.map { inStrides[$0] }])
        return strided(x, dims: merged.shape, strides: merged.strides[0], offset: 0)
    }

    /// Gathers a strided view of `x` into a dense buffer: element (i₀,…,iₖ) reads
    /// `x[offset + Σ iⱼ·strides[j]]`.
    static func strided(_ x: [Float], dims: [Int], strides: [Int], offset: Int) -> [Float] {
        let n = dims.reduce(1, *)
        if n == 0 { return [] }
        let inner = dims[dims.count - 1]
        let step = strides[dims.count - 1]
        let rows = n / inner
        return [Float](unsafeUninitializedCapacity: n) { po, initialized in
            x.withUnsafeBufferPointer { px in
                parallelChunks(rows, costPerItem: inner) { range in
                    for row in range {
                        var rem = row
                        var o = offset
                        for axis in stride(from: dims.count - 2, through: 0, by: -1) {
                            o += (rem % dims[axis]) * strides[axis]
                            rem /= dims[axis]
                        }
                        let base = row * inner
                        for j in 0..<inner { po[base + j] = px[o + j * step] }
                    }
                }
            }
            initialized = n
        }
    }

    /// The output extent of a strided slice along one axis (starts already clamped as ONNX does).
    public static func sliceExtent(start: Int, end: Int, step: Int) -> Int {
        step > 0 ? max(0, (end - start + step - 1) / step) : max(0, (start - end + (-step) - 1) / (-step))
    }

    /// x[starts ..< ends by steps] per axis (clamped indices, non-zero steps, negative allowed).
    public static func slice(_ x: [Float], _ shape: [Int], starts: [Int], ends: [Int], steps: [Int]) -> [Float] {
        let strides = contiguousStrides(shape)
        let dims = shape.indices.map { sliceExtent(start: starts[$0], end: ends[$0], step: steps[$0]) }
        if dims.contains(0) { return [] }
        let offset = shape.indices.reduce(0) { $0 + starts[$1] * strides[$1] }
        return strided(x, dims: dims, strides: shape.indices.map { strides[$0] * steps[$0] }, offset: offset)
    }

    /// The adjoint of `slice`: `g` (the slice's shape) written into zeros of `shape`.
    public static func sliceScatter(
        _ g: [Float],
        into shape: [Int],
        starts: [Int],
        ends: [Int],
        steps: [Int]
    ) -> [Float] {
        let strides = contiguousStrides(shape)
        let dims = shape.indices.map { sliceExtent(start: starts[$0], end: ends[$0], step: steps[$0]) }
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        let n = dims.reduce(1, *)
        if n == 0 { return out }
        let offset = shape.indices.reduce(0) { $0 + starts[$1] * strides[$1] }
        let outStrides = shape.indices.map { strides[$0] * steps[$0] }
        let inner = dims[dims.count - 1]
        let step = outStrides[dims.count - 1]
        g.withUnsafeBufferPointer { pg in
            out.withUnsafeMutableBufferPointer { po in
                for row in 0..<(n / inner) {
                    var rem = row
                    var o = offset
                    for axis in stride(from: dims.count - 2, through: 0, by: -1) {
                        o += (rem % dims[axis]) * outStrides[axis]
                        rem /= dims[axis]
                    }
                    for j in 0..<inner { po[o + j * step] = pg[row * inner + j] }
                }
            }
        }
        return out
    }

    /// Constant padding: `before[i]`/`after[i]` (non-negative) elements added on each side of axis i.
    public static func pad(_ x: [Float], _ shape: [Int], before: [Int], after: [Int], value: Float) -> [Float] {
        let outShape = shape.indices.map { shape[$0] + before[$0] + after[$0] }
        let base = [Float](repeating: value, count: outShape.reduce(1, *))
        if x.isEmpty { return base }
        // Writing x into the interior is the adjoint of slicing the interior out.
        var out = sliceScatter(
            x,
            into: outShape,
            starts: before,
            ends: outShape.indices.map { before[$0] + shape[$0] },
            steps: [Int](repeating: 1, count: shape.count)
        )
        if value != 0 {
            let mask = sliceScatter(
                [Float](repeating: 1, count: x.count),
                into: outShape,
                starts: before,
                ends: outShape.indices.map { before[$0] + shape[$0] },
                steps: [Int](repeating: 1, count: shape.count)
            )
            for i in out.indices where mask[i] == 0 { out[i] = value }
        }
        return out
    }

    /// Concatenates buffers along `axis`; every shape equals the first except at `axis`.
    public static func concat(_ parts: [[Float]], shapes: [[Int]], axis: Int) -> [Float] {
        let outer = shapes[0][..<axis].reduce(1, *)
        let inner = shapes[0][(axis + 1)...].reduce(1, *)
        let total = shapes.reduce(0) { $0 + $1[axis] }
        var out = [Float](repeating: 0, count: outer * total * inner)
        var offset = 0
        for (part, shape) in zip(parts, shapes) {
            let block = shape[axis] * inner
            for o in 0..<outer {
                let dst = o * total * inner + offset * inner
                for j in 0..<block { out[dst + j] = part[o * block + j] }
            }
            offset += shape[axis]
        }
        return out
    }

    /// out[i] = x[indices[i]].
    public static func gatherFlat(_ x: [Float], _ indices: [Int32]) -> [Float] {
        let n = indices.count
        return [Float](unsafeUninitializedCapacity: n) { po, initialized in
            x.withUnsafeBufferPointer { px in
                indices.withUnsafeBufferPointer { pi in
                    parallelChunks(n) { range in
                        for i in range { po[i] = px[Int(pi[i])] }
                    }
                }
            }
            initialized = n
        }
    }

    /// The adjoint of `gatherFlat`: out (count elements) with out[indices[i]] += g[i].
    public static func scatterAddFlat(_ g: [Float], _ indices: [Int32], count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        g.withUnsafeBufferPointer { pg in
            indices.withUnsafeBufferPointer { pi in
                out.withUnsafeMutableBufferPointer { po in
                    for i in 0..<pg.count { po[Int(pi[i])] += pg[i] }
                }
            }
        }
        return out
    }
}
