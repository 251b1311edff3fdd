import CKernels512
import Foundation

// Winograd F(4×4, 3×3) with channels in the AVX-512 vector lanes, for convolutions whose input and
// output channels are multiples of 16 (ResNet-20's 16→16 @28, 32→32 @14, 64→64 @7, forward and
// input gradient).
//
// The tile-lane kernel (WinogradConvolution.swift, WinogradF4.swift) keeps 8 tiles in the lanes: its
// transforms run per channel on short tile rows and it stages every input row into six column
// arrays first, so at 16 channels the transforms and staging cost about as much as the products
// they save. Here a block of images is first transposed into a padded grid with its 16·cb channels
// at each position (16×16 transposes in registers, `rkd_transpose_block`); then every 6×6 patch
// point of a tile is one vector of 16 channels, the transforms are plain vertical arithmetic, the
// products M_ξ = V_ξ·U_ξ run on register blocks with the output channels in the lanes
// (`rkd_winograd_lanes_products`), and the outputs, position-major, are transposed back to NCHW
// rows and stored through the convolution's epilogue.
//
// Layouts (floats), per block of `images` images with T tiles:
//   grid: (images, gridRows, gridColumns, C), x[n, c, h, w] at (n, h + padTop, w + padLeft, c);
//   V: (36, T, C); M: (36, T, K); U: (36, C, K); outputs: (images, tilesH·4, tilesW·4, K).

/// The lane kernel can run F(4×4) on these channel counts with this vector width: AVX-512, 16, 32 or
/// 64 channels on both sides (the products' register blocks), unless `RKD_WINOGRAD_LANES=0`.
func winogradLanesApply(inChannels: Int, outChannels: Int, simd: SIMDLevel) -> Bool {
    simd == .avx512 && winogradLanesEnabled && [16, 32, 64].contains(inChannels) && [16, 32, 64].contains(outChannels)
}

extension WinogradPlan {
    /// The lane kernel runs it: F(4×4) and `winogradLanesApply`.
    var lanesApply: Bool {
        tile == 4 && winogradLanesApply(inChannels: inChannels, outChannels: outChannels, simd: simd)
    }

    /// Rows and columns of a block's padded grid per image: the tiles' 6×6 patches.
    var laneGridRows: Int { tilesH * 4 + 2 }
    var laneGridColumns: Int { tilesW * 4 + 2 }
    /// Images per block: at least two blocks per thread, V and M within 576 KB, and of those counts
    /// the one that leaves the fewest tiles past the products' last whole register block (they run
    /// one at a time), then the largest within 384 KB. 32→32 @14 takes 3 images (48 tiles, 4 blocks
    /// of 12) where 2 left 8 of 32 tiles to the single-tile loop.
    var laneImagesPerBlock: Int {
        let tilesPerImage = tilesH * tilesW
        let perImage = 36 * tilesPerImage * (inChannels + outChannels)
        let most = max(1, min(147_456 / perImage, batch / (2 * EngineThreads.count)))
        let blockTiles = 24 / max(1, outChannels / 16)
        var best = (images: 1, single: Double.infinity)
        for images in 1...most {
            let tiles = images * tilesPerImage
            let single = Double(tiles % blockTiles) / Double(tiles)
            let fewer = single < best.single - 1e-9
            let tied = abs(single - best.single) <= 1e-9 && images * perImage <= 98_304
            if fewer || tied { best = (images, single) }
        }
        return best.images
    }
}

/// The filter gradient by the lane F(2×2) adjoint beats the direct lane kernel here: with AVX-512, 16
/// or 32 channels on both sides (EngineBench --only winograd, 2026-12-05: 16→16 @28 1.08 against 1.24
/// ms, 32→32 @14 0.84 against 1.20; 64→64 @7 1.53 against 1.20, where its per-block sums of 64×64
/// channel pairs are read and written back every 3 images).
func winogradLaneFilterGradientApplies(inChannels: Int, outChannels: Int, simd: SIMDLevel) -> Bool {
    winogradLanesApply(inChannels: inChannels, outChannels: outChannels, simd: simd)
        && max(inChannels, outChannels) <= 32
}

/// `count` zeroed floats, 64-byte aligned (a vector of 16 per cache line); free with `deallocate()`.
func allocateZeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutableRawPointer.allocate(byteCount: 4 * count, alignment: 64).bindMemory(
        to: Float.self,
        capacity: count
    )
    p.initialize(repeating: 0, count: count)
    return p
}

/// False when `RKD_WINOGRAD_LANES=0`: F(4×4) then runs the tile-lane kernel (for comparisons).
private let winogradLanesEnabled = ProcessInfo.processInfo.environment["RKD_WINOGRAD_LANES"] != "0"

extension Kernels {
    /// output = epilogue(conv(input, w) + bias) by F(4×4, 3×3) with channels in the lanes, U the lane
    /// filters (`winograd4Filters` of the same plan); `plan.lanesApply` must hold.
    static func winogradLanes(
        _ input: UnsafePointer<Float>,
        _ u: UnsafePointer<Float>,
        _ bias: UnsafePointer<Float>?,
        _ output: UnsafeMutablePointer<Float>,
        _ plan: WinogradPlan,
        epilogue: ConvEpilogue
    ) {
        precondition(plan.lanesApply, "winogradLanes: needs F(4×4), AVX-512 and 16, 32 or 64 channels")
        let cs = plan.inChannels
        let ks = plan.outChannels
        let images = plan.laneImagesPerBlock
        let blocks = (plan.batch + images - 1) / images
        let tilesPerImage = plan.tilesH * plan.tilesW
        let tiles = images * tilesPerImage
        let (gridRows, gridColumns) = (plan.laneGridRows, plan.laneGridColumns)
        let gridImage = gridRows * gridColumns * cs
        let outRows = plan.tilesH * 4
        let outColumns = plan.tilesW * 4
        let outImage = outRows * outColumns * ks
        let (height, width) = (plan.height, plan.width)
        let outPlane = plan.outH * plan.outW
        let cost = 36 * tilesPerImage * images * (cs + ks) * 8
        parallelChunks(blocks, costPerItem: cost) { range in
            // Zeroed once: the padding of the grid stays zero (each block writes only image
            // positions).
            let grid = allocateZeroed(images * gridImage)
            let v = allocateZeroed(36 * tiles * cs)
            let m = allocateZeroed(36 * tiles * ks)
            let out = allocateZeroed(images * outImage)
            let staging = allocateZeroed(16 * (height * width + 16))
            let planes = allocateZeroed(16 * outRows * outColumns)
            defer {
                for p in [grid, v, m, out, staging, planes] { p.deallocate() }
            }
            for block in range {
                let n0 = block * images
                let count = min(images, plan.batch - n0)
                fillLaneGrid(
                    input,
                    channels: cs,
                    height: height,
                    width: width,
                    images: n0..<(n0 + count),
                    top: plan.padTop,
                    left: plan.padLeft,
                    rows: gridRows,
                    columns: gridColumns,
                    grid,
                    staging: staging
                )
                // Input transforms: tile (n, i, j) is tile (n·tilesH + i)·tilesW + j of the block.
                for n in 0..<count {
                    for i in 0..<plan.tilesH {
                        let t0 = (n * plan.tilesH + i) * plan.tilesW
                        for cb in 0..<(cs / 16) {
                            rkd_winograd4_lanes_input(
                                grid + n * gridImage + 4 * i * gridColumns * cs + 16 * cb,
                                gridColumns * cs,
                                cs,
                                Int32(plan.tilesW),
                                v + t0 * cs + 16 * cb,
                                tiles * cs,
                                cs
                            )
                        }
                    }
                }
                let used = count * tilesPerImage
                for xi in 0..<36 {
                    let status = rkd_winograd_lanes_products(
                        v + xi * tiles * cs,
                        u + xi * cs * ks,
                        m + xi * tiles * ks,
                        Int32(used),
                        Int32(cs),
                        Int32(ks)
                    )
                    precondition(status == 0, "winogradLanes: no register block for C = \(cs), K = \(ks)")
                }
                // Output transforms into the position-major outputs, bias added.
                for n in 0..<count {
                    for i in 0..<plan.tilesH {
                        let t0 = (n * plan.tilesH + i) * plan.tilesW
                        for kb in 0..<(ks / 16) {
                            rkd_winograd4_lanes_output(
                                m + t0 * ks + 16 * kb,
                                tiles * ks,
                                ks,
                                Int32(plan.tilesW),
                                bias.map { $0 + 16 * kb },
                                out + n * outImage + 4 * i * outColumns * ks + 16 * kb,
                                outColumns * ks,
                                ks
                            )
                        }
                    }
                }
                // Back to NCHW, 16 positions × 16 channels at a time. With nothing left to add: when
                // the grid is the output (28×28), whole planes straight into the output; else (the
                // tiles overshoot it) row by row into the output with masks. With an epilogue: into
                // `planes`, and from there row by row through it.
                let exact = outRows == plan.outH && outColumns == plan.outW
                let gridPlane = outRows * outColumns
                for n in 0..<count {
                    for kb in 0..<(ks / 16) {
                        let src = out + n * outImage + 16 * kb
                        let planesStart = output + ((n0 + n) * ks + 16 * kb) * outPlane
                        if epilogue.isIdentity && !exact {
                            for oh in 0..<plan.outH {
                                var ow = 0
                                while ow < plan.outW {
                                    let columns = min(16, plan.outW - ow)
                                    rkd_transpose_block(
                                        src + (oh * outColumns + ow) * ks,
                                        ks,
                                        Int32(columns),
                                        16,
                                        planesStart + oh * plan.outW + ow,
                                        outPlane
                                    )
                                    ow += columns
                                }
                            }
                            continue
                        }
                        let direct = epilogue.isIdentity
                        let (to, toStride) = direct ? (planesStart, outPlane) : (planes, gridPlane)
                        var p = 0
                        while p < gridPlane {
                            rkd_transpose16x16(src + p * ks, ks, to + p, toStride)
                            p += 16
                        }
                        if direct { continue }
                        for k in 0..<16 {
                            for oh in 0..<plan.outH {
                                let offset = ((n0 + n) * ks + 16 * kb + k) * outPlane + oh * plan.outW
                                epilogue.store(
                                    planes + k * gridPlane + oh * outColumns,
                                    bias: 0,
                                    output + offset,
                                    offset: offset,
                                    count: plan.outW
                                )
                            }
                        }
                    }
                }
            }
        }
    }

    /// Images `images` of planes (N, channels, height, width) into a position-major grid
    /// (images.count, rows, columns, channels): x[n, c, h, w] at (n − images.lowerBound, h + top,
    /// w + left), each channel block of an image's planes transposed 16 positions at a time into
    /// `staging` (16·(height·width + 16) floats), then copied row by row. Positions outside the image
    /// data are not written.
    static func fillLaneGrid(
        _ source: UnsafePointer<Float>,
        channels cs: Int,
        height: Int,
        width: Int,
        images: Range<Int>,
        top: Int,
        left: Int,
        rows: Int,
        columns: Int,
        _ grid: UnsafeMutablePointer<Float>,
        staging: UnsafeMutablePointer<Float>
    ) {
        let plane = height * width
        let gridImage = rows * columns * cs
        for (index, n) in images.enumerated() {
            for cb in 0..<(cs / 16) {
                let src = source + (n * cs + 16 * cb) * plane
                var p = 0
                while p + 16 <= plane {
                    rkd_transpose16x16(src + p, plane, staging + 16 * p, 16)
                    p += 16
                }
                if p < plane { rkd_transpose_block(src + p, plane, 16, Int32(plane - p), staging + 16 * p, 16) }
                for h in 0..<height {
                    let dst = grid + index * gridImage + ((h + top) * columns + left) * cs + 16 * cb
                    let row = staging + 16 * h * width
                    if cs == 16 {
                        copyRow(row, dst, count: 16 * width)
                    } else {
                        for w in 0..<width { copyRow(row + 16 * w, dst + w * cs, count: 16) }
                    }
                }
            }
        }
    }

    /// dw = Σₙ dy ⋆ x of a 3×3 stride-1 convolution by Winograd F(2×2, 3×3)'s adjoint with channels
    /// in the lanes: dw[k, c] = Gᵀ·(Σ_tiles (Bᵀ·d·B)[c] ⊙ (A·dy·Aᵀ)[k])·G, 16 products per 2×2 outputs
    /// and channel pair where the direct kernel does 36. x and dy go into position-major grids
    /// (`fillLaneGrid`; dy's grid rounded up to whole tiles, the rest zero), both transforms are
    /// vertical arithmetic, and `rkd_winograd2_lanes_filter_products` sums over a block's tiles in
    /// registers. The batch is split into `filterBatchParts` fixed parts, each summed in order on one
    /// thread and the parts added in order, so the result does not depend on the thread count.
    /// `winogradLaneFilterGradientApplies` must hold for the channel counts.
    static func winogradLaneFilterGradient(
        _ x: UnsafePointer<Float>,
        _ dy: UnsafePointer<Float>,
        _ dw: UnsafeMutablePointer<Float>,
        _ g: Conv2DGeometry
    ) {
        precondition(
            g.winogradApplies
                && winogradLaneFilterGradientApplies(
                    inChannels: g.inChannels,
                    outChannels: g.outChannels,
                    simd: .avx512
                ),
            "winogradLaneFilterGradient: needs 3×3, stride 1, and 16, 32 or 64 channels"
        )
        let cs = g.inChannels
        let ks = g.outChannels
        let (outH, outW) = (g.outHeight, g.outWidth)
        let tilesH = (outH + 1) / 2
        let tilesW = (outW + 1) / 2
        let tilesPerImage = tilesH * tilesW
        let (gridRows, gridColumns) = (tilesH * 2 + 2, tilesW * 2 + 2)
        let (gradientRows, gradientColumns) = (tilesH * 2, tilesW * 2)
        let images = max(1, min(g.batch, 98_304 / (16 * tilesPerImage * (cs + ks))))
        let tiles = images * tilesPerImage
        let perPart = (g.batch + filterBatchParts - 1) / filterBatchParts
        let parts = (g.batch + perPart - 1) / perPart
        let sums = 16 * cs * ks
        // partials[part][ξ][c][k]
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: parts * sums)
        partials.initialize(repeating: 0, count: parts * sums)
        defer { partials.deallocate() }
        let cost = perPart * tilesPerImage * 16 * (cs * ks + 8 * (cs + ks))
        parallelChunks(parts, costPerItem: cost) { range in
            // Zeroed once: the grids' padding (and dy's positions past the output) stay zero.
            let grid = allocateZeroed(images * gridRows * gridColumns * cs)
            let gradient = allocateZeroed(images * gradientRows * gradientColumns * ks)
            let v = allocateZeroed(16 * tiles * cs)
            let y = allocateZeroed(16 * tiles * ks)
            let staging = allocateZeroed(16 * (max(g.height * g.width, outH * outW) + 16))
            defer {
                for p in [grid, gradient, v, y, staging] { p.deallocate() }
            }
            for part in range {
                let end = min(g.batch, (part + 1) * perPart)
                var n0 = part * perPart
                while n0 < end {
                    let count = min(images, end - n0)
                    fillLaneGrid(
                        x,
                        channels: cs,
                        height: g.height,
                        width: g.width,
                        images: n0..<(n0 + count),
                        top: g.padTop,
                        left: g.padLeft,
                        rows: gridRows,
                        columns: gridColumns,
                        grid,
                        staging: staging
                    )
                    fillLaneGrid(
                        dy,
                        channels: ks,
                        height: outH,
                        width: outW,
                        images: n0..<(n0 + count),
                        top: 0,
                        left: 0,
                        rows: gradientRows,
                        columns: gradientColumns,
                        gradient,
                        staging: staging
                    )
                    for n in 0..<count {
                        for i in 0..<tilesH {
                            let t0 = (n * tilesH + i) * tilesW
                            for cb in 0..<(cs / 16) {
                                rkd_winograd2_lanes_input(
                                    grid + ((n * gridRows + 2 * i) * gridColumns) * cs + 16 * cb,
                                    gridColumns * cs,
                                    cs,
                                    Int32(tilesW),
                                    v + t0 * cs + 16 * cb,
                                    tiles * cs,
                                    cs
                                )
                            }
                            for kb in 0..<(ks / 16) {
                                rkd_winograd2_lanes_gradient(
                                    gradient + ((n * gradientRows + 2 * i) * gradientColumns) * ks + 16 * kb,
                                    gradientColumns * ks,
                                    ks,
                                    Int32(tilesW),
                                    y + t0 * ks + 16 * kb,
                                    tiles * ks,
                                    ks
                                )
                            }
                        }
                    }
                    for xi in 0..<16 {
                        let status = rkd_winograd2_lanes_filter_products(
                            v + xi * tiles * cs,
                            y + xi * tiles * ks,
                            partials + part * sums + xi * cs * ks,
                            Int32(count * tilesPerImage),
                            Int32(cs),
                            Int32(ks)
                        )
                        precondition(
                            status == 0,
                            "winogradLaneFilterGradient: no register block for C = \(cs), K = \(ks)"
                        )
                    }
                    n0 += count
                }
            }
        }
        // dU = Σ_part partials in part order; dw[k][c][r][s] = Σ_ij G[i][r]·dU[4i + j][c][k]·G[j][s] with
        // G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
        let gMatrix: [[Float]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        for c in 0..<cs {
            for k in 0..<ks {
                var u = [Float](repeating: 0, count: 16)
                for xi in 0..<16 {
                    var sum = partials[xi * cs * ks + c * ks + k]
                    for part in 1..<parts { sum += partials[part * sums + xi * cs * ks + c * ks + k] }
                    u[xi] = sum
                }
                for r in 0..<3 {
                    for s in 0..<3 {
                        var value: Float = 0
                        for i in 0..<4 where gMatrix[i][r] != 0 {
                            var row: Float = 0
                            for j in 0..<4 where gMatrix[j][s] != 0 { row += u[4 * i + j] * gMatrix[j][s] }
                            value += gMatrix[i][r] * row
                        }
                        dw[(k * cs + c) * 9 + 3 * r + s] = value
                    }
                }
            }
        }
    }
}
