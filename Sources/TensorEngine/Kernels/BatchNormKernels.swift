// Batch-norm kernels over x viewed as (N, C, HW): per-channel statistics and the per-channel affine
// map that inference batch norm (and every folded form of it) reduces to.

extension Kernels {
    /// mean[c] = Σ_(n,i) x[n,c,i] / (N·HW) and the biased variance Σ (x − mean)² / (N·HW).
    /// x is (N,C,HW). One pass about a per-channel shift (below); each plane is summed in SIMD
    /// `Float` blocks of at most 1024 elements whose partial sums are accumulated in `Double`.
    public static func batchNormStatistics(
        _ x: [Float],
        batch: Int,
        channels: Int,
        spatial: Int
    ) -> (mean: [Float], variance: [Float]) {
        precondition(
            batch > 0 && channels > 0 && spatial > 0,
            "batchNormStatistics: (N,C,HW) = (\(batch),\(channels),\(spatial)) must be positive"
        )
        precondition(
            x.count == batch * channels * spatial,
            "batchNormStatistics: x has \(x.count) elements, (N,C,HW) = (\(batch),\(channels),\(spatial))"
        )
        let planes = batch * channels
        let total = Double(batch * spatial)
        // One pass over x: per plane Σ(x − K) and Σ(x − K)² about a per-channel shift K, the mean of
        // the channel's first plane. Then mean = K + d and variance = Σ(x − K)²/M − d² with
        // d = Σ(x − K)/M: with K near the mean the subtraction loses little (a two-pass mean, then
        // squared deviations, read x twice for the same accuracy). Per-plane partial sums, then
        // per-channel totals in a fixed order (deterministic).
        var shift = [Float](repeating: 0, count: channels)
        var planeSums = [Double](repeating: 0, count: planes)
        var planeSquares = [Double](repeating: 0, count: planes)
        var mean = [Float](repeating: 0, count: channels)
        var variance = [Float](repeating: 0, count: channels)
        x.withUnsafeBufferPointer { px in
            guard let base = px.baseAddress else { return }
            for c in 0..<channels {
                shift[c] = Float(planeMoments(base + c * spatial, spatial, center: 0).sum / Double(spatial))
            }
            shift.withUnsafeBufferPointer { pk in
                planeSums.withUnsafeMutableBufferPointer { sums in
                    planeSquares.withUnsafeMutableBufferPointer { squares in
                        parallelChunks(planes, costPerItem: 2 * spatial) { range in
                            for p in range {
                                (sums[p], squares[p]) = planeMoments(
                                    base + p * spatial,
                                    spatial,
                                    center: pk[p % channels]
                                )
                            }
                        }
                    }
                }
            }
            for c in 0..<channels {
                var s = 0.0
                var q = 0.0
                for n in 0..<batch {
                    s += planeSums[n * channels + c]
                    q += planeSquares[n * channels + c]
                }
                let d = s / total
                mean[c] = Float(Double(shift[c]) + d)
                variance[c] = Float(max(0, q / total - d * d))
            }
        }
        return (mean, variance)
    }

    /// Σ (x[i] − center) and Σ (x[i] − center)² over `count` elements: SIMD `Float` blocks of ≤ 1024,
    /// accumulated in `Double`.
    static func planeMoments(_ x: UnsafePointer<Float>, _ count: Int, center: Float) -> (sum: Double, squares: Double) {
        typealias V = SIMD8<Float>
        let k = V(repeating: center)
        var sum = 0.0
        var squares = 0.0
        var start = 0
        let raw = UnsafeRawPointer(x)
        while start < count {
            let end = min(count, start + 1024)
            var a0 = V()
            var a1 = V()
            var b0 = V()
            var b1 = V()
            var i = start
            while i + 16 <= end {
                let d0 = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self) - k
                let d1 = raw.loadUnaligned(fromByteOffset: (i + 8) * 4, as: V.self) - k
                a0 += d0
                a1 += d1
                b0 += d0 * d0
                b1 += d1 * d1
                i += 16
            }
            var block = 0.0
            var blockSquares = 0.0
            while i < end {
                let d = x[i] - center
                block += Double(d)
                blockSquares += Double(d * d)
                i += 1
            }
            let a = a0 + a1
            let b = b0 + b1
            for l in 0..<8 {
                block += Double(a[l])
                blockSquares += Double(b[l])
            }
            sum += block
            squares += blockSquares
            start = end
        }
        return (sum, squares)
    }

    /// y[n,c,i] = x[n,c,i]·scale[c] + shift[c]. x is (N,C,HW), scale and shift are (C).
    public static func channelAffine(
        _ x: [Float],
        batch: Int,
        channels: Int,
        spatial: Int,
        scale: [Float],
        shift: [Float],
        residual: [Float]? = nil,
        relu: Bool = false
    ) -> [Float] {
        precondition(
            x.count == batch * channels * spatial,
            "channelAffine: x has \(x.count) elements, (N,C,HW) = (\(batch),\(channels),\(spatial))"
        )
        precondition(
            scale.count == channels && shift.count == channels,
            "channelAffine: scale has \(scale.count) and shift \(shift.count) elements, C = \(channels)"
        )
        let count = x.count
        if let residual {
            precondition(residual.count == count, "channelAffine: residual has \(residual.count) elements, x \(count)")
        }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            x.withUnsafeBufferPointer { px in
                scale.withUnsafeBufferPointer { ps in
                    shift.withUnsafeBufferPointer { pt in
                        let py = out
                        withOptionalBuffer(residual) { pr in
                            parallelChunks(batch * channels, costPerItem: spatial) { planes in
                                for p in planes {
                                    let a = ps[p % channels]
                                    let b = pt[p % channels]
                                    let base = p * spatial
                                    // x·a + b, then the epilogue (the same sums as separate add and
                                    // relu passes, element by element), eight at a time: written as
                                    // one scalar loop, LLVM left it scalar (70 % of the kernel's
                                    // samples on one vaddss).
                                    var i = base
                                    let end = base + spatial
                                    while i + 8 <= end {
                                        var v = loadVector8(px, i) * a + b
                                        if let pr { v = v + loadVector8(pr, i) }
                                        if relu { v = v.replacing(with: 0, where: v .< 0) }
                                        storeVector8(v, py, i)
                                        i += 8
                                    }
                                    while i < end {
                                        var v = px[i] * a + b
                                        if let pr { v = v + pr[i] }
                                        if relu { v = v < 0 ? 0 : v }
                                        py[i] = v
                                        i += 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
            initialized = count
        }
    }
}

/// Calls `body` with `array`'s buffer, or with nil.
@inline(__always)
func withOptionalBuffer<R>(_ array: [Float]?, _ body: (UnsafeBufferPointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0) }
}
