import Foundation
import TensorEngine

// Naive twins of the dense kernels (GEMM, broadcasting, reductions, softmax, layout): straight from
// the definitions, through multi-indices, in Double where it matters. Oracles only.

extension NaiveKernels {
    /// C = alpha·op(A)·op(B) + beta·C by the triple loop, accumulated in Double.
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
        var out = [Float](repeating: 0, count: M * N)
        for i in 0..<M {
            for j in 0..<N {
                var s = 0.0
                for k in 0..<K {
                    let av = transposeA ? a[k * M + i] : a[i * K + k]
                    let bv = transposeB ? b[j * K + k] : b[k * N + j]
                    s += Double(av) * Double(bv)
                }
                let prior = c.map { Double(beta) * Double($0[i * N + j]) } ?? 0
                out[i * N + j] = Float(Double(alpha) * s + prior)
            }
        }
        return out
    }

    /// The multi-index of a flat position in a shape.
    static func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rem = flat
        var index = [Int](repeating: 0, count: shape.count)
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            index[axis] = rem % shape[axis]
            rem /= shape[axis]
        }
        return index
    }

    /// The flat position of a multi-index read through broadcasting from `shape`.
    static func broadcastFlat(_ outIndex: [Int], _ shape: [Int]) -> Int {
        let offset = outIndex.count - shape.count
        var flat = 0
        for axis in 0..<shape.count {
            flat = flat * shape[axis] + (shape[axis] == 1 ? 0 : outIndex[axis + offset])
        }
        return flat
    }

    /// f(a, b) with NumPy broadcasting, element by element through multi-indices.
    public static func broadcastBinary(
        _ a: [Float],
        _ aShape: [Int],
        _ b: [Float],
        _ bShape: [Int],
        outShape: [Int],
        _ f: (Float, Float) -> Float
    ) -> [Float] {
        (0..<outShape.reduce(1, *)).map { i in
            let index = multiIndex(i, outShape)
            return f(a[broadcastFlat(index, aShape)], b[broadcastFlat(index, bShape)])
        }
    }

    /// Sum over axes (keep-dims layout) in Double.
    public static func sum(_ x: [Float], _ shape: [Int], axes: [Int]) -> [Float] {
        var outShape = shape
        for a in axes { outShape[a] = 1 }
        var acc = [Double](repeating: 0, count: outShape.reduce(1, *))
        for i in 0..<x.count {
            var index = multiIndex(i, shape)
            for a in axes { index[a] = 0 }
            acc[broadcastFlat(index, outShape)] += Double(x[i])
        }
        return acc.map { Float($0) }
    }

    /// Transpose through multi-indices.
    public static func permute(_ x: [Float], _ shape: [Int], _ permutation: [Int]) -> [Float] {
        let outShape = permutation.map { shape[$0] }
        return (0..<x.count).map { i in
            let outIndex = multiIndex(i, outShape)
            var inIndex = [Int](repeating: 0, count: shape.count)
            for (k, p) in permutation.enumerated() { inIndex[p] = outIndex[k] }
            return x[broadcastFlat(inIndex, shape)]
        }
    }

    /// Strided slice through multi-indices.
    public static func slice(_ x: [Float], _ shape: [Int], starts: [Int], ends: [Int], steps: [Int]) -> [Float] {
        let outShape = shape.indices.map { Kernels.sliceExtent(start: starts[$0], end: ends[$0], step: steps[$0]) }
        return (0..<outShape.reduce(1, *)).map { i in
            let outIndex = multiIndex(i, outShape)
            let inIndex = shape.indices.map { starts[$0] + outIndex[$0] * steps[$0] }
            return x[broadcastFlat(inIndex, shape)]
        }
    }

    /// Softmax or log-softmax along an axis, in Double.
    public static func softmax(_ x: [Float], _ shape: [Int], axis: Int, log: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            var index = multiIndex(i, shape)
            var denominator = 0.0
            for r in 0..<shape[axis] {
                index[axis] = r
                denominator += Foundation.exp(Double(x[broadcastFlat(index, shape)]))
            }
            out[i] =
                log
                ? Float(Double(x[i]) - Foundation.log(denominator)) : Float(Foundation.exp(Double(x[i])) / denominator)
        }
        return out
    }
}

extension NaiveKernels {
    /// Constant padding through multi-indices.
    public static func pad(_ x: [Float], _ shape: [Int], before: [Int], after: [Int], value: Float) -> [Float] {
        let outShape = shape.indices.map { shape[$0] + before[$0] + after[$0] }
        return (0..<outShape.reduce(1, *)).map { i in
            let outIndex = multiIndex(i, outShape)
            let inIndex = shape.indices.map { outIndex[$0] - before[$0] }
            let inside = shape.indices.allSatisfy { inIndex[$0] >= 0 && inIndex[$0] < shape[$0] }
            return inside ? x[broadcastFlat(inIndex, shape)] : value
        }
    }

    /// Concatenation through multi-indices: each output element finds its part by its index on `axis`.
    public static func concat(_ parts: [[Float]], shapes: [[Int]], axis: Int) -> [Float] {
        var outShape = shapes[0]
        outShape[axis] = shapes.reduce(0) { $0 + $1[axis] }
        return (0..<outShape.reduce(1, *)).map { i in
            var index = multiIndex(i, outShape)
            var part = 0
            while index[axis] >= shapes[part][axis] {
                index[axis] -= shapes[part][axis]
                part += 1
            }
            return parts[part][broadcastFlat(index, shapes[part])]
        }
    }
}
