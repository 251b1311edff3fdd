// Winograd F(4×4, 3×3) (Lavin and Gray, 2016): the transforms of WinogradConvolution.swift's larger
// variant, which shares its plan, block layout and products.
//
// A 4×4 output tile comes from a 6×6 input patch: 36 products per tile and channel pair, 2.25 per
// output where F(2×2, 3×3) needs 4 and the direct kernel 9, and 36 transformed values per 16 outputs
// (F(2×2): 16 per 4), so V and M also carry less data per output. The matrices:
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
//   G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1],
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
// G's sixths are not exact in binary and Bᵀ and Aᵀ scale by up to 8, so results differ from the direct
// kernel's by more than F(2×2)'s rounding: about 2e-6 of the largest output at 64 channels (the kernel tests bound
// it at 1e-5 against the naive loop nest).
//
// Each input row is staged as six arrays (`winogradStage`: array k holds column 4t + k of tile t), so
// that the six columns of tiles t … t + 7 are six plain vector loads. Both transforms run in two
// passes over a 36-vector scratch (rows, then columns), which keeps the live vectors within the
// register file.

extension Kernels {
    /// U = G·w[k,c]·Gᵀ (6×6) for every filter, packed by `packWinogradFilters` (for the channel-lane
    /// kernel when the plan runs it). Computed in Double
    /// and rounded once, four filters at a time in the lanes of a vector (the same operations per
    /// lane as one at a time, so the same bits; the divisions dominated the scalar version, and at
    /// 64 channels the forward and input-gradient transforms took ~1.5 % of a training step).
    static func winograd4Filters(_ w: UnsafePointer<Float>, _ plan: WinogradPlan) -> [Float] {
        typealias D = SIMD4<Double>
        typealias Six = (D, D, D, D, D, D)
        // G times a column (a0, a1, a2) of three.
        @inline(__always)
        func timesG(_ a0: D, _ a1: D, _ a2: D) -> Six {
            (
                a0 / 4, -(a0 + a1 + a2) / 6, -(a0 - a1 + a2) / 6, a0 / 24 + a1 / 12 + a2 / 6,
                a0 / 24 - a1 / 12 + a2 / 6, a2
            )
        }
        return packWinogradFilters(w, plan, lanes: plan.lanesApply) { f, count, u in
            // Element i of filters 0 ..< count in the lanes (zero past count).
            @inline(__always)
            func load(_ i: Int) -> D {
                if count == 4 { return D(Double(f[i]), Double(f[9 + i]), Double(f[18 + i]), Double(f[27 + i])) }
                var v = D()
                for q in 0..<count { v[q] = Double(f[9 * q + i]) }
                return v
            }
            // Row r of U = (row r of G·f)·Gᵀ, lane q to u[36·q + 6·r …].
            @inline(__always)
            func storeRow(_ r: Int, _ b0: D, _ b1: D, _ b2: D) {
                let row = timesG(b0, b1, b2)
                let rounded = (
                    SIMD4<Float>(row.0), SIMD4<Float>(row.1), SIMD4<Float>(row.2), SIMD4<Float>(row.3),
                    SIMD4<Float>(row.4), SIMD4<Float>(row.5)
                )
                for q in 0..<count {
                    let at = u + 36 * q + 6 * r
                    (at[0], at[1], at[2]) = (rounded.0[q], rounded.1[q], rounded.2[q])
                    (at[3], at[4], at[5]) = (rounded.3[q], rounded.4[q], rounded.5[q])
                }
            }
            // Columns of G·f.
            let c0 = timesG(load(0), load(3), load(6))
            let c1 = timesG(load(1), load(4), load(7))
            let c2 = timesG(load(2), load(5), load(8))
            storeRow(0, c0.0, c1.0, c2.0)
            storeRow(1, c0.1, c1.1, c2.1)
            storeRow(2, c0.2, c1.2, c2.2)
            storeRow(3, c0.3, c1.3, c2.3)
            storeRow(4, c0.4, c1.4, c2.4)
            storeRow(5, c0.5, c1.5, c2.5)
        }
    }

    /// Bᵀ applied to six vectors (a row or column of a 6×6 patch for 8 tiles).
    @inline(__always)
    static func winograd4B(
        _ d0: SIMD8<Float>,
        _ d1: SIMD8<Float>,
        _ d2: SIMD8<Float>,
        _ d3: SIMD8<Float>,
        _ d4: SIMD8<Float>,
        _ d5: SIMD8<Float>
    ) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        // A product by a power of two is exact, so each fused multiply-add below rounds as the
        // separate product and sum did: the same bits, fewer instructions.
        let a = d4.addingProduct(-4, d2)
        let b = (-d3).addingProduct(4, d1)
        let c = d4 - d2
        let e = 2 * (d1 - d3)
        let first = (-(5 * d2)).addingProduct(4, d0) + d4
        let last = (-(5 * d3)).addingProduct(4, d1) + d5
        return (first, a - b, a + b, c - e, c + e, last)
    }

    /// Aᵀ applied to six vectors.
    @inline(__always)
    static func winograd4A(
        _ m0: SIMD8<Float>,
        _ m1: SIMD8<Float>,
        _ m2: SIMD8<Float>,
        _ m3: SIMD8<Float>,
        _ m4: SIMD8<Float>,
        _ m5: SIMD8<Float>
    ) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let sum12 = m1 + m2
        let diff12 = m1 - m2
        let sum34 = m3 + m4
        let diff34 = m3 - m4
        // Fused multiply-adds by 2, 4 and 8: exact products, so the same bits as product and sum.
        return (
            m0 + sum12 + sum34, diff12.addingProduct(2, diff34), sum12.addingProduct(4, sum34),
            diff12.addingProduct(8, diff34) + m5
        )
    }

    /// V[ξ][c][t] = (Bᵀ·d·B)[ξ] for the tiles t of one block, ξ = 6·row + column.
    static func winograd4InputTransform(
        _ x: UnsafePointer<Float>,
        block: Int,
        _ plan: WinogradPlan,
        _ line: UnsafeMutablePointer<Float>,
        _ staged: UnsafeMutablePointer<Float>,
        _ scratch: UnsafeMutablePointer<SIMD8<Float>>,
        _ v: UnsafeMutablePointer<Float>
    ) {
        typealias V8 = SIMD8<Float>
        let cs = plan.inChannels
        let tiles = plan.blockTiles
        let phase = plan.stagedPhase
        let xiStride = plan.vPointStride
        for c in 0..<cs {
            winogradStage(x, channel: c, block: block, plan, line, staged)
            // Transform: column k of row rr for tiles t..t+7 is array k of input row rr at t. Rows of
            // d·B go to the scratch, then Bᵀ runs on its columns.
            let out = v + c * tiles
            let phaseBytes = 4 * phase
            var t = 0
            while t < tiles {
                for rr in 0..<6 {
                    let p = UnsafeRawPointer(staged + 6 * rr * phase + t)
                    let e = winograd4B(
                        p.loadUnaligned(as: V8.self),
                        p.loadUnaligned(fromByteOffset: phaseBytes, as: V8.self),
                        p.loadUnaligned(fromByteOffset: 2 * phaseBytes, as: V8.self),
                        p.loadUnaligned(fromByteOffset: 3 * phaseBytes, as: V8.self),
                        p.loadUnaligned(fromByteOffset: 4 * phaseBytes, as: V8.self),
                        p.loadUnaligned(fromByteOffset: 5 * phaseBytes, as: V8.self)
                    )
                    let s = scratch + 6 * rr
                    (s[0], s[1], s[2], s[3], s[4], s[5]) = e
                }
                for j in 0..<6 {
                    let s = scratch + j
                    let column = winograd4B(s[0], s[6], s[12], s[18], s[24], s[30])
                    let at = out + j * xiStride + t
                    let rowStride = 6 * xiStride  // V[6i + j] to V[6(i + 1) + j]
                    UnsafeMutableRawPointer(at).storeBytes(of: column.0, as: V8.self)
                    UnsafeMutableRawPointer(at + rowStride).storeBytes(of: column.1, as: V8.self)
                    UnsafeMutableRawPointer(at + 2 * rowStride).storeBytes(of: column.2, as: V8.self)
                    UnsafeMutableRawPointer(at + 3 * rowStride).storeBytes(of: column.3, as: V8.self)
                    UnsafeMutableRawPointer(at + 4 * rowStride).storeBytes(of: column.4, as: V8.self)
                    UnsafeMutableRawPointer(at + 5 * rowStride).storeBytes(of: column.5, as: V8.self)
                }
                t += 8
            }
        }
    }

    /// y rows of one block's tiles: Aᵀ·M·A (4×4) for each tile and output channel, stored through the
    /// epilogue.
    static func winograd4OutputTransform(
        _ m: UnsafePointer<Float>,
        block: Int,
        _ plan: WinogradPlan,
        _ bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>,
        _ rows: UnsafeMutablePointer<Float>,
        _ scratch: UnsafeMutablePointer<SIMD8<Float>>,
        epilogue: ConvEpilogue
    ) {
        typealias V8 = SIMD8<Float>
        let tiles = plan.blockTiles
        let step = plan.mPointStride
        let stepBytes = 4 * step
        let used = plan.usedTiles(ofBlock: block)
        let tileRows = plan.rows(ofBlock: block)
        for k in 0..<plan.outChannels {
            let src = m + k * tiles
            var t = 0
            while t < used {
                // Aᵀ on each column j of M (its points 6i + j), into scratch[6a + j].
                for j in 0..<6 {
                    let p = UnsafeRawPointer(src + j * step + t)
                    let s = winograd4A(
                        p.loadUnaligned(as: V8.self),
                        p.loadUnaligned(fromByteOffset: 6 * stepBytes, as: V8.self),
                        p.loadUnaligned(fromByteOffset: 12 * stepBytes, as: V8.self),
                        p.loadUnaligned(fromByteOffset: 18 * stepBytes, as: V8.self),
                        p.loadUnaligned(fromByteOffset: 24 * stepBytes, as: V8.self),
                        p.loadUnaligned(fromByteOffset: 30 * stepBytes, as: V8.self)
                    )
                    (scratch[j], scratch[6 + j], scratch[12 + j], scratch[18 + j]) = s
                }
                // ·A on each row a: output row a's four columns of tiles t..t+7, stored tile by tile.
                for a in 0..<4 {
                    let s = scratch + 6 * a
                    let out = winograd4A(s[0], s[1], s[2], s[3], s[4], s[5])
                    let (c02, c13) = (interleave(out.0, out.2), interleave(out.1, out.3))
                    let at = UnsafeMutableRawPointer(rows + a * 4 * tiles + 4 * t)
                    at.storeBytes(of: interleave(c02.lowHalf, c13.lowHalf), as: SIMD16<Float>.self)
                    at.storeBytes(of: interleave(c02.highHalf, c13.highHalf), toByteOffset: 64, as: SIMD16<Float>.self)
                }
                t += 8
            }
            winogradStoreRows(rows, channel: k, tileRows: tileRows, plan, bias, y, epilogue: epilogue)
        }
    }
}
