// Elementwise kernels with NumPy broadcasting. Buffers are dense row-major; large maps are split
// over EngineThreads.count threads.

extension Kernels {
    /// y[i] = f(x[i]).
    @inlinable
    public static func map(_ x: [Float], _ f: (Float) -> Float) -> [Float] {
        let n = x.count
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            x.withUnsafeBufferPointer { px in
                let po = out
                parallelChunks(n, costPerItem: 4) { range in
                    for i in range { po[i] = f(px[i]) }
                }
            }
            initialized = n
        }
    }

    /// y[i] = −x[i], eight lanes at a time by flipping the sign bit (what the scalar negation does,
    /// NaN included).
    public static func negate(_ x: [Float]) -> [Float] {
        let n = x.count
        let sign = SIMD8<UInt32>(repeating: 0x8000_0000)
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            x.withUnsafeBufferPointer { px in
                let po = out
                parallelChunks(n, costPerItem: 1) { range in
                    var i = range.lowerBound
                    while i + 8 <= range.upperBound {
                        let bits = unsafeBitCast(loadVector8(px, i), to: SIMD8<UInt32>.self) ^ sign
                        storeVector8(unsafeBitCast(bits, to: SIMD8<Float>.self), po, i)
                        i += 8
                    }
                    while i < range.upperBound {
                        po[i] = -px[i]
                        i += 1
                    }
                }
            }
            initialized = n
        }
    }

    /// y[i] = f(a[i], b[i]) for equal-length buffers.
    @inlinable
    public static func zipMap(_ a: [Float], _ b: [Float], _ f: (Float, Float) -> Float) -> [Float] {
        withoutActuallyEscaping(f) { f in zipMap(a, b, ElementwiseFunction(f)) }
    }

    /// y[i] = op(a[i], b[i]) for equal-length buffers, eight lanes at a time: specialised for each
    /// operation type, the arithmetic ones run as vector loops.
    @inlinable
    public static func zipMap<Op: ElementwiseBinary>(_ a: [Float], _ b: [Float], _ op: Op) -> [Float] {
        precondition(a.count == b.count, "zipMap: \(a.count) vs \(b.count) elements")
        let n = a.count
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let po = out
                    parallelChunks(n, costPerItem: 4) { range in
                        var i = range.lowerBound
                        while i + 8 <= range.upperBound {
                            storeVector8(op(loadVector8(pa, i), loadVector8(pb, i)), po, i)
                            i += 8
                        }
                        while i < range.upperBound {
                            po[i] = op(pa[i], pb[i])
                            i += 1
                        }
                    }
                }
            }
            initialized = n
        }
    }

    /// y[i] = op(a[i], s) (or op(s, a[i]) with `scalarFirst`), eight lanes at a time.
    @inlinable
    static func mapScalar<Op: ElementwiseBinary>(_ a: [Float], _ s: Float, scalarFirst: Bool, _ op: Op) -> [Float] {
        let n = a.count
        let vs = SIMD8<Float>(repeating: s)
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            a.withUnsafeBufferPointer { pa in
                let po = out
                parallelChunks(n, costPerItem: 4) { range in
                    var i = range.lowerBound
                    while i + 8 <= range.upperBound {
                        let v = loadVector8(pa, i)
                        storeVector8(scalarFirst ? op(vs, v) : op(v, vs), po, i)
                        i += 8
                    }
                    while i < range.upperBound {
                        po[i] = scalarFirst ? op(s, pa[i]) : op(pa[i], s)
                        i += 1
                    }
                }
            }
            initialized = n
        }
    }

    /// The broadcast shape of two shapes (NumPy rules), or `nil` when they do not broadcast.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 {
                out[i] = da
            } else if da == 1 {
                out[i] = db
            } else {
                return nil
            }
        }
        return out
    }

    /// Strides of `shape` read as a broadcast into `outShape`: 0 on broadcast axes.
    @usableFromInline
    static func broadcastStrides(_ shape: [Int], into outShape: [Int]) -> [Int] {
        let offset = outShape.count - shape.count
        let own = contiguousStrides(shape)
        return (0..<outShape.count).map { i in
            i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
        }
    }

    /// Merges adjacent axes that every operand walks contiguously (or broadcasts along), so the inner
    /// loop is as long as possible. Returns the merged extents and one merged stride list per operand.
    @usableFromInline
    static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        if shape.isEmpty { return ([1], strides.map { _ in [0] }) }
        var outShape = [shape[shape.count - 1]]
        var outStrides = strides.map { [$0[shape.count - 1]] }
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            let inner = outShape[0]
            let mergeable = strides.indices.allSatisfy { k in
                strides[k][axis] == outStrides[k][0] * inner
            }
            if mergeable {
                outShape[0] *= shape[axis]
            } else {
                outShape.insert(shape[axis], at: 0)
                for k in strides.indices { outStrides[k].insert(strides[k][axis], at: 0) }
            }
        }
        return (outShape, outStrides)
    }

    /// out = f(a, b) with NumPy broadcasting; returns the result and its shape.
    /// - Precondition: the shapes broadcast.
    @inlinable
    public static func broadcastBinary(
        _ a: [Float],
        _ aShape: [Int],
        _ b: [Float],
        _ bShape: [Int],
        _ f: (Float, Float) -> Float
    ) -> (scalars: [Float], shape: [Int]) {
        withoutActuallyEscaping(f) { f in broadcastBinary(a, aShape, b, bShape, ElementwiseFunction(f)) }
    }

    /// out = op(a, b) with NumPy broadcasting, specialised for each operation type: equal shapes
    /// and a scalar operand run eight lanes at a time.
    /// - Precondition: the shapes broadcast.
    @inlinable
    public static func broadcastBinary<Op: ElementwiseBinary>(
        _ a: [Float],
        _ aShape: [Int],
        _ b: [Float],
        _ bShape: [Int],
        _ op: Op
    ) -> (scalars: [Float], shape: [Int]) {
        if aShape == bShape { return (zipMap(a, b, op), aShape) }
        guard let outShape = broadcastShape(aShape, bShape) else {
            preconditionFailure("broadcast: shapes \(aShape) and \(bShape) do not broadcast")
        }
        let n = outShape.reduce(1, *)
        if b.count == 1 && outShape == aShape { return (mapScalar(a, b[0], scalarFirst: false, op), outShape) }
        if a.count == 1 && outShape == bShape { return (mapScalar(b, a[0], scalarFirst: true, op), outShape) }
        let merged = coalesce(
            outShape,
            [broadcastStrides(aShape, into: outShape), broadcastStrides(bShape, into: outShape)]
        )
        let dims = merged.shape
        let sa = merged.strides[0]
        let sb = merged.strides[1]
        let inner = dims[dims.count - 1]
        let ia = sa[dims.count - 1]
        let ib = sb[dims.count - 1]
        let rows = n / max(inner, 1)
        let out = [Float](unsafeUninitializedCapacity: n) { po, initialized in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    parallelChunks(rows, costPerItem: inner * 4) { range in
                        for row in range {
                            // Offsets of this row in a and b from its multi-index over the outer axes.
                            var rem = row
                            var oa = 0
                            var ob = 0
                            for axis in stride(from: dims.count - 2, through: 0, by: -1) {
                                let idx = rem % dims[axis]
                                rem /= dims[axis]
                                oa += idx * sa[axis]
                                ob += idx * sb[axis]
                            }
                            let base = row * inner
                            if ia == 1 && ib == 0 {
                                let vb = pb[ob]
                                for j in 0..<inner { po[base + j] = op(pa[oa + j], vb) }
                            } else if ia == 0 && ib == 1 {
                                let va = pa[oa]
                                for j in 0..<inner { po[base + j] = op(va, pb[ob + j]) }
                            } else {
                                for j in 0..<inner { po[base + j] = op(pa[oa + j * ia], pb[ob + j * ib]) }
                            }
                        }
                    }
                }
            }
            initialized = n
        }
        return (out, outShape)
    }

    /// Copies `x` (shape `shape`) broadcast to `outShape`.
    /// - Precondition: `shape` broadcasts to `outShape`.
    public static func broadcast(_ x: [Float], _ shape: [Int], to outShape: [Int]) -> [Float] {
        precondition(
            shape.count <= outShape.count && broadcastShape(shape, outShape) == outShape,
            "broadcast: \(shape) does not broadcast to \(outShape)"
        )
        if shape == outShape { return x }
        let n = outShape.reduce(1, *)
        if x.count == 1 { return [Float](repeating: x[0], count: n) }
        let merged = coalesce(outShape, [broadcastStrides(shape, into: outShape)])
        let dims = merged.shape
        let sx = merged.strides[0]
        let inner = dims[dims.count - 1]
        let ix = sx[dims.count - 1]
        let rows = n / max(inner, 1)
        return [Float](unsafeUninitializedCapacity: n) { po, initialized in
            x.withUnsafeBufferPointer { px in
                parallelChunks(rows, costPerItem: inner) { range in
                    for row in range {
                        var rem = row
                        var ox = 0
                        for axis in stride(from: dims.count - 2, through: 0, by: -1) {
                            ox += (rem % dims[axis]) * sx[axis]
                            rem /= dims[axis]
                        }
                        let base = row * inner
                        if ix == 0 {
                            let v = px[ox]
                            for j in 0..<inner { po[base + j] = v }
                        } else {
                            for j in 0..<inner { po[base + j] = px[ox + j * ix] }
                        }
                    }
                }
            }
            initialized = n
        }
    }
}

/// An elementwise binary operation the kernels specialise on: the arithmetic operations are types of
/// their own, so their loops compile to vector code; any other function goes through
/// ``ElementwiseFunction``.
public protocol ElementwiseBinary {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
    func callAsFunction(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float>
}

/// a + b.
public struct ElementwiseAdd: ElementwiseBinary {
    @inlinable public init() {}
    @inlinable @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b }
    @inlinable @inline(__always)
    public func callAsFunction(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a + b }
}

/// a − b.
public struct ElementwiseSubtract: ElementwiseBinary {
    @inlinable public init() {}
    @inlinable @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b }
    @inlinable @inline(__always)
    public func callAsFunction(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a - b }
}

/// a · b.
public struct ElementwiseMultiply: ElementwiseBinary {
    @inlinable public init() {}
    @inlinable @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
    @inlinable @inline(__always)
    public func callAsFunction(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a * b }
}

/// a / b (IEEE: lane by lane the same quotient as the scalar division).
public struct ElementwiseDivide: ElementwiseBinary {
    @inlinable public init() {}
    @inlinable @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b }
    @inlinable @inline(__always)
    public func callAsFunction(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a / b }
}

/// Any function of two floats, applied lane by lane.
public struct ElementwiseFunction: ElementwiseBinary {
    @usableFromInline let function: (Float, Float) -> Float
    @inlinable public init(_ function: @escaping (Float, Float) -> Float) { self.function = function }
    @inlinable public func callAsFunction(_ a: Float, _ b: Float) -> Float { function(a, b) }
    @inlinable
    public func callAsFunction(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        var out = SIMD8<Float>()
        for lane in 0..<8 { out[lane] = function(a[lane], b[lane]) }
        return out
    }
}
