// Shape and data-movement ops. Each is linear, and each VJP is another op of this file:
// reshape ↔ reshape, permute ↔ inverse permute, slice ↔ sliceScatter, pad ↔ slice, concat → slices,
// gatherFlat ↔ scatterAddFlat.

extension Tensor {
    /// The same elements under a new shape; one extent may be −1 (inferred).
    /// - Precondition: the element counts agree.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let i = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(newShape) for \(shape)")
            target[i] = count / known
        }
        precondition(target.reduce(1, *) == count, "reshape: \(shape) (\(count) elements) to \(newShape)")
        if target == shape { return self }
        let out = Tensor(shape: target, scalars: scalars)
        let inShape = shape
        return .record("reshape", out, inputs: [self]) { g, _ in [g.reshaped(inShape)] }
    }

    /// Collapses axes `..<axis` into the first dimension and `axis...` into the second (ONNX Flatten).
    public func flattened(axis: Int = 1) -> Tensor {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a <= rank, "flatten: axis \(axis) for rank \(rank)")
        return reshaped([shape[..<a].reduce(1, *), shape[a...].reduce(1, *)])
    }

    /// Reorders axes: output axis i is input axis `permutation[i]`. VJP: the inverse permutation.
    public func transposed(_ permutation: [Int]) -> Tensor {
        precondition(permutation.sorted() == Array(0..<rank), "transpose: permutation \(permutation) for \(shape)")
        if permutation == Array(0..<rank) { return self }
        let out = Tensor(shape: permutation.map { shape[$0] }, scalars: Kernels.permute(scalars, shape, permutation))
        var inverse = permutation
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        let inv = inverse
        return .record("transpose", out, inputs: [self]) { g, _ in [g.transposed(inv)] }
    }

    /// The transpose of a matrix.
    public var t: Tensor {
        precondition(rank == 2, "t: needs a matrix, got \(shape)")
        return transposed([1, 0])
    }

    /// Elements `starts[i] ..< ends[i]` by `steps[i]` on each axis. Indices must already be clamped
    /// into range (ONNX Slice rules: start in [0, d] for positive steps, [−1, d−1] for negative).
    /// VJP: `sliceScatter`.
    public func sliced(starts: [Int], ends: [Int], steps: [Int]? = nil) -> Tensor {
        let steps = steps ?? [Int](repeating: 1, count: rank)
        precondition(
            starts.count == rank && ends.count == rank && steps.count == rank,
            "slice: starts \(starts), ends \(ends), steps \(steps) for \(shape)"
        )
        precondition(!steps.contains(0), "slice: zero step in \(steps)")
        let outShape = shape.indices.map { Kernels.sliceExtent(start: starts[$0], end: ends[$0], step: steps[$0]) }
        let out = Tensor(
            shape: outShape,
            scalars: Kernels.slice(scalars, shape, starts: starts, ends: ends, steps: steps)
        )
        let inShape = shape
        return .record("slice", out, inputs: [self]) { g, _ in
            [g.sliceScattered(into: inShape, starts: starts, ends: ends, steps: steps)]
        }
    }

    /// Writes this tensor (a slice's shape) into zeros of `shape`: the adjoint of `sliced`. VJP: `sliced`.
    public func sliceScattered(into shape: [Int], starts: [Int], ends: [Int], steps: [Int]) -> Tensor {
        let out = Tensor(
            shape: shape,
            scalars: Kernels.sliceScatter(scalars, into: shape, starts: starts, ends: ends, steps: steps)
        )
        return .record("sliceScatter", out, inputs: [self]) { g, _ in
            [g.sliced(starts: starts, ends: ends, steps: steps)]
        }
    }

    /// Constant padding with `before[i]`/`after[i]` (non-negative) elements on axis i. VJP: the slice
    /// of the interior.
    public func padded(before: [Int], after: [Int], value: Float = 0) -> Tensor {
        precondition(
            before.count == rank && after.count == rank && !(before + after).contains { $0 < 0 },
            "pad: before \(before), after \(after) for \(shape)"
        )
        let outShape = shape.indices.map { shape[$0] + before[$0] + after[$0] }
        let out = Tensor(
            shape: outShape,
            scalars: Kernels.pad(scalars, shape, before: before, after: after, value: value)
        )
        let inShape = shape
        return .record("pad", out, inputs: [self]) { g, _ in
            [g.sliced(starts: before, ends: inShape.indices.map { before[$0] + inShape[$0] })]
        }
    }

    /// out[i] = self.flat[indices[i]], shaped `shape`. VJP: `scatterAddFlat`.
    public func gatherFlat(indices: [Int32], shape outShape: [Int]) -> Tensor {
        precondition(indices.count == outShape.reduce(1, *), "gatherFlat: \(indices.count) indices for \(outShape)")
        let out = Tensor(shape: outShape, scalars: Kernels.gatherFlat(scalars, indices))
        let inShape = shape
        return .record("gatherFlat", out, inputs: [self]) { g, _ in [g.scatterAddFlat(indices: indices, shape: inShape)]
        }
    }

    /// out (shaped `shape`) with out.flat[indices[i]] += self.flat[i]. VJP: `gatherFlat`.
    public func scatterAddFlat(indices: [Int32], shape outShape: [Int]) -> Tensor {
        let out = Tensor(
            shape: outShape,
            scalars: Kernels.scatterAddFlat(scalars, indices, count: outShape.reduce(1, *))
        )
        let inShape = shape
        return .record("scatterAddFlat", out, inputs: [self]) { g, _ in [g.gatherFlat(indices: indices, shape: inShape)]
        }
    }

    /// Selects entries along `axis` by `indices` (ONNX Gather; negative indices count from the end).
    /// The result's shape is shape[..<axis] + indicesShape + shape[(axis+1)...].
    public func gathered(indices: [Int], indicesShape: [Int], axis: Int) -> Tensor {
        let a = normalizedAxis(axis, rank: rank)
        let outer = shape[..<a].reduce(1, *)
        let inner = shape[(a + 1)...].reduce(1, *)
        let extent = shape[a]
        let resolved = indices.map { i -> Int in
            let r = i < 0 ? i + extent : i
            precondition(r >= 0 && r < extent, "gather: index \(i) out of range for axis \(axis) of \(shape)")
            return r
        }
        var flat = [Int32]()
        flat.reserveCapacity(outer * resolved.count * inner)
        for o in 0..<outer {
            for r in resolved {
                for i in 0..<inner { flat.append(Int32((o * extent + r) * inner + i)) }
            }
        }
        return gatherFlat(indices: flat, shape: Array(shape[..<a]) + indicesShape + Array(shape[(a + 1)...]))
    }
}

/// Joins tensors along `axis`. VJP: the matching slice of g for each part.
/// - Precondition: all shapes agree except along `axis`.
public func concat(_ parts: [Tensor], axis: Int) -> Tensor {
    precondition(!parts.isEmpty, "concat: no tensors")
    let rank = parts[0].rank
    let a = normalizedAxis(axis, rank: rank)
    for p in parts {
        precondition(
            p.rank == rank && p.shape.indices.allSatisfy { $0 == a || p.shape[$0] == parts[0].shape[$0] },
            "concat: shapes \(parts.map(\.shape)) differ off axis \(a)"
        )
    }
    var outShape = parts[0].shape
    outShape[a] = parts.reduce(0) { $0 + $1.shape[a] }
    let out = Tensor(
        shape: outShape,
        scalars: Kernels.concat(parts.map(\.scalars), shapes: parts.map(\.shape), axis: a)
    )
    let shapes = parts.map(\.shape)
    let joined = outShape
    return .record("concat", out, inputs: parts) { g, _ in
        var offset = 0
        return shapes.map { s in
            var starts = [Int](repeating: 0, count: rank)
            var ends = joined
            starts[a] = offset
            ends[a] = offset + s[a]
            offset += s[a]
            return g.sliced(starts: starts, ends: ends)
        }
    }
}
