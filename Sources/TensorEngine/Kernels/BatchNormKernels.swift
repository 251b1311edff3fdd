// Batch-norm kernels over x viewed as (N, C, HW): per-channel statistics and the per-channel affine
// map that inference batch norm (and every folded form of it) reduces to.

extension Kernels {
    /// mean[c] = Σ_(n,i) x[n,c,i] / (N·HW) and the biased variance Σ (x − mean)² / (N·HW).
    /// x is (N,C,HW). Two passes; each plane is summed in SIMD `Float` blocks of at most 1024
    /// elements whose partial sums are accumulated in `Double`.
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
        // Per-plane partial sums, then per-channel totals in a fixed order (deterministic).
        var planeSums = [Double](repeating: 0, count: planes)
        var mean = [Float](repeating: 0, count: channels)
        var variance = [Float](repeating: 0, count: channels)
        x.withUnsafeBufferPointer { px in
            guard let base = px.baseAddress else { return }
            planeSums.withUnsafeMutableBufferPointer { sums in
                parallelChunks(planes, costPerItem: spatial) { range in
                    for p in range { sums[p] = planeSum(base + p * spatial, spatial, center: 0) }
                }
            }
            for c in 0..<channels {
                var s = 0.0
                for n in 0..<batch { s += planeSums[n * channels + c] }
                mean[c] = Float(s / total)
            }
            mean.withUnsafeBufferPointer { pm in
                planeSums.withUnsafeMutableBufferPointer { sums in
                    parallelChunks(planes, costPerItem: 2 * spatial) { range in
                        for p in range {
                            sums[p] = planeSquaredDeviation(base + p * spatial, spatial, center: pm[p % channels])
                        }
                    }
                }
            }
            for c in 0..<channels {
                var s = 0.0
                for n in 0..<batch { s += planeSums[n * channels + c] }
                variance[c] = Float(s / total)
            }
        }
        return (mean, variance)
    }

    /// Σ (x[i] − center) over `count` elements: SIMD `Float` blocks of ≤ 1024, accumulated in `Double`.
    static func planeSum(_ x: UnsafePointer<Float>, _ count: Int, center: Float) -> Double {
        blockedSum(x, count) { $0 - SIMD8(repeating: center) }
    }

    /// Σ (x[i] − center)² over `count` elements.
    static func planeSquaredDeviation(_ x: UnsafePointer<Float>, _ count: Int, center: Float) -> Double {
        blockedSum(x, count) { v in
            let d = v - SIMD8(repeating: center)
            return d * d
        }
    }

    @inline(__always)
    static func blockedSum(
        _ x: UnsafePointer<Float>,
        _ count: Int,
        _ f: (SIMD8<Float>) -> SIMD8<Float>
    ) -> Double {
        typealias V = SIMD8<Float>
        var total = 0.0
        var start = 0
        let raw = UnsafeRawPointer(x)
        while start < count {
            let end = min(count, start + 1024)
            var a0 = V()
            var a1 = V()
            var i = start
            while i + 16 <= end {
                a0 += f(raw.loadUnaligned(fromByteOffset: i * 4, as: V.self))
                a1 += f(raw.loadUnaligned(fromByteOffset: (i + 8) * 4, as: V.self))
                i += 16
            }
            var tail = V()
            var lane = 0
            while i < end {
                tail[lane] = x[i]
                lane += 1
                i += 1
                if lane == 8 || i == end {
                    // Lanes past `lane` hold zeros; f(0) must not be counted for them.
                    let mapped = f(tail)
                    for l in 0..<lane { a0[l] += mapped[l] }
                    tail = V()
                    lane = 0
                }
            }
            let s = a0 + a1
            var block = 0.0
            for l in 0..<8 { block += Double(s[l]) }
            total += block
            start = end
        }
        return total
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
