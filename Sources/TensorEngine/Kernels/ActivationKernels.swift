// Dedicated loops for the hottest elementwise ops. The generic `map`/`zipMap` call their closure
// once per element (the optimiser does not specialise them through the op layer); these loops are
// plain SIMD code. Each equals the generic kernel with the obvious closure (tested).

extension Kernels {
    /// y = max(x, 0).
    public static func relu(_ x: [Float]) -> [Float] {
        let n = x.count
        return [Float](unsafeUninitializedCapacity: n) { po, initialized in
            x.withUnsafeBufferPointer { px in
                parallelChunks(n, costPerItem: 1) { range in
                    var i = range.lowerBound
                    let zero = SIMD8<Float>()
                    while i + 8 <= range.upperBound {
                        let v = loadVector8(px, i)
                        storeVector8(v.replacing(with: zero, where: v .< zero), po, i)
                        i += 8
                    }
                    while i < range.upperBound {
                        po[i] = Swift.max(px[i], 0)
                        i += 1
                    }
                }
            }
            initialized = n
        }
    }

    /// y = g where x > 0, else 0.
    public static func reluGradient(_ g: [Float], _ x: [Float]) -> [Float] {
        precondition(g.count == x.count, "reluGradient: \(g.count) vs \(x.count) elements")
        let n = x.count
        return [Float](unsafeUninitializedCapacity: n) { po, initialized in
            g.withUnsafeBufferPointer { pg in
                x.withUnsafeBufferPointer { px in
                    parallelChunks(n, costPerItem: 1) { range in
                        var i = range.lowerBound
                        let zero = SIMD8<Float>()
                        while i + 8 <= range.upperBound {
                            let gv = loadVector8(pg, i)
                            let xv = loadVector8(px, i)
                            // Zero unless x > 0 (NaN included), as the scalar tail.
                            storeVector8(gv.replacing(with: zero, where: .!(xv .> zero)), po, i)
                            i += 8
                        }
                        while i < range.upperBound {
                            po[i] = px[i] > 0 ? pg[i] : 0
                            i += 1
                        }
                    }
                }
            }
            initialized = n
        }
    }

    /// y = a + b for equal-length buffers.
    public static func add(_ a: [Float], _ b: [Float]) -> [Float] {
        precondition(a.count == b.count, "add: \(a.count) vs \(b.count) elements")
        let n = a.count
        return [Float](unsafeUninitializedCapacity: n) { po, initialized in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    parallelChunks(n, costPerItem: 1) { range in
                        var i = range.lowerBound
                        while i + 8 <= range.upperBound {
                            let r = loadVector8(pa, i) + loadVector8(pb, i)
                            storeVector8(r, po, i)
                            i += 8
                        }
                        while i < range.upperBound {
                            po[i] = pa[i] + pb[i]
                            i += 1
                        }
                    }
                }
            }
            initialized = n
        }
    }
}
