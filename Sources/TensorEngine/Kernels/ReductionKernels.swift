import Foundation

// Reductions over axes, and softmax along one axis. A reduction over one axis views the input as
// (outer, R, inner) and writes (outer, inner).

extension Kernels {
    /// Sums over `axes`; the result has `shape` with each reduced axis set to 1 (keep-dims layout).
    public static func sum(_ x: [Float], _ shape: [Int], axes: [Int]) -> [Float] {
        var values = x
        var current = shape
        for axis in Set(axes).sorted() where current[axis] != 1 {
            values = sumAxis(values, current, axis: axis)
            current[axis] = 1
        }
        return values
    }

    /// Sums over one axis: x viewed as (outer, R, inner) → (outer, inner).
    static func sumAxis(_ x: [Float], _ shape: [Int], axis: Int) -> [Float] {
        let outer = shape[..<axis].reduce(1, *)
        let R = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        var out = [Float](repeating: 0, count: outer * inner)
        x.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                if inner == 1 {
                    parallelChunks(outer, costPerItem: R) { range in
                        for o in range {
                            // Pairwise-friendly: 8 partial sums keep rounding error small and vectorise.
                            var acc = SIMD8<Float>()
                            var r = 0
                            let row = o * R
                            while r + 8 <= R {
                                acc += loadVector8(px, row + r)
                                r += 8
                            }
                            var s = acc.sum()
                            while r < R {
                                s += px[row + r]
                                r += 1
                            }
                            po[o] = s
                        }
                    }
                } else {
                    parallelChunks(outer * inner, costPerItem: R) { range in
                        // Split by (outer, inner-block) so each thread owns disjoint outputs.
                        var idx = range.lowerBound
                        while idx < range.upperBound {
                            let o = idx / inner
                            let i0 = idx % inner
                            let i1 = min(inner, i0 + (range.upperBound - idx))
                            for r in 0..<R {
                                let src = (o * R + r) * inner
                                let dst = o * inner
                                for i in i0..<i1 { po[dst + i] += px[src + i] }
                            }
                            idx += i1 - i0
                        }
                    }
                }
            }
        }
        return out
    }

    /// Maximum over one axis with the flat index (into `x`) of the first maximum of each slice.
    /// NaN propagates: a slice containing NaN reports the first NaN.
    public static func maxAxis(_ x: [Float], _ shape: [Int], axis: Int) -> (values: [Float], argmax: [Int32]) {
        let outer = shape[..<axis].reduce(1, *)
        let R = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        precondition(R > 0, "maxAxis: cannot reduce an empty axis of \(shape)")
        var values = [Float](repeating: 0, count: outer * inner)
        var argmax = [Int32](repeating: 0, count: outer * inner)
        x.withUnsafeBufferPointer { px in
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = (o * R) * inner + i
                    var bestValue = px[best]
                    if !bestValue.isNaN {
                        for r in 1..<max(R, 1) {
                            let j = (o * R + r) * inner + i
                            let v = px[j]
                            if v.isNaN {
                                best = j
                                bestValue = v
                                break
                            }
                            if v > bestValue {
                                best = j
                                bestValue = v
                            }
                        }
                    }
                    values[o * inner + i] = bestValue
                    argmax[o * inner + i] = Int32(best)
                }
            }
        }
        return (values, argmax)
    }

    /// Softmax (or log-softmax) along `axis`, numerically stable (max subtracted first).
    public static func softmax(_ x: [Float], _ shape: [Int], axis: Int, log: Bool) -> [Float] {
        let outer = shape[..<axis].reduce(1, *)
        let R = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        var out = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                parallelChunks(outer, costPerItem: R * inner * 8) { range in
                    for o in range {
                        for i in 0..<inner {
                            var m = -Float.infinity
                            for r in 0..<R { m = Swift.max(m, px[(o * R + r) * inner + i]) }
                            var s: Float = 0
                            for r in 0..<R { s += expf(px[(o * R + r) * inner + i] - m) }
                            // (x − m) − log s keeps precision when |x| is large (x − (m + log s) does not).
                            let logSum = logf(s)
                            for r in 0..<R {
                                let j = (o * R + r) * inner + i
                                let shifted = px[j] - m
                                po[j] = log ? shifted - logSum : expf(shifted - logSum)
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
