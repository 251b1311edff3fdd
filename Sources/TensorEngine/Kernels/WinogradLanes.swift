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
// Layouts (floats), per block of `images` images with T tiles (rounded up to 24):
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
    /// Images per block: V and M within about 384 KB, and at least two blocks per thread.
    var laneImagesPerBlock: Int {
        let tilesPerImage = tilesH * tilesW
        let fitting = max(1, 98_304 / (36 * tilesPerImage * (inChannels + outChannels)))
        return max(1, min(fitting, batch / (2 * EngineThreads.count)))
    }
}

/// False when `RKD_WINOGRAD_LANES=0`: F(4×4) then runs the tile-lane kernel (for comparisons).
private let winogradLanesEnabled = ProcessInfo.processInfo.environment["RKD_WINOGRAD_LANES"] != "0"

extension Kernels {
    /// U repacked for the lane kernel: (36, C, K) from `packWinogradFilters`' (36, channel block, C, 4).
    static func winogradLaneFilters(_ packed: [Float], _ plan: WinogradPlan) -> [Float] {
        let cs = plan.inChannels
        let ks = plan.outChannels
        let blockStride = plan.channelBlocks * cs * 4
        var lanes = [Float](repeating: 0, count: 36 * cs * ks)
        for xi in 0..<36 {
            for c in 0..<cs {
                for k in 0..<ks {
                    lanes[(xi * cs + c) * ks + k] = packed[xi * blockStride + (k / 4) * cs * 4 + c * 4 + k % 4]
                }
            }
        }
        return lanes
    }

    /// output = epilogue(conv(input, w) + bias) by F(4×4, 3×3) with channels in the lanes, U the lane
    /// filters (`winogradLaneFilters`); `plan.lanesApply` must hold.
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
        let tiles = (images * tilesPerImage + 23) / 24 * 24
        let (gridRows, gridColumns) = (plan.laneGridRows, plan.laneGridColumns)
        let gridImage = gridRows * gridColumns * cs
        let outRows = plan.tilesH * 4
        let outColumns = plan.tilesW * 4
        let outImage = outRows * outColumns * ks
        let (height, width) = (plan.height, plan.width)
        let plane = height * width
        let outPlane = plan.outH * plan.outW
        let cost = 36 * tilesPerImage * images * (cs + ks) * 8
        parallelChunks(blocks, costPerItem: cost) { range in
            func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutableRawPointer.allocate(byteCount: 4 * count, alignment: 64)
                    .bindMemory(to: Float.self, capacity: count)
                p.initialize(repeating: 0, count: count)
                return p
            }
            // Zeroed once: the padding of the grid stays zero (each block writes only image
            // positions), V's rounding tiles stay finite.
            let grid = allocate(images * gridImage)
            let v = allocate(36 * tiles * cs)
            let m = allocate(36 * tiles * ks)
            let out = allocate(images * outImage)
            let rows = allocate(16 * 16)
            defer {
                for p in [grid, v, m, out, rows] { p.deallocate() }
            }
            for block in range {
                let n0 = block * images
                let count = min(images, plan.batch - n0)
                // The grid: for each image, channel block and input row, 16 channel rows transposed
                // into the row's positions, 16 columns at a time.
                for n in 0..<count {
                    for cb in 0..<(cs / 16) {
                        let src = input + ((n0 + n) * cs + 16 * cb) * plane
                        for h in 0..<height {
                            let dst =
                                grid + n * gridImage + ((h + plan.padTop) * gridColumns + plan.padLeft) * cs + 16 * cb
                            var w = 0
                            while w < width {
                                let columns = min(16, width - w)
                                rkd_transpose_block(src + h * width + w, plane, 16, Int32(columns), dst + w * cs, cs)
                                w += columns
                            }
                        }
                    }
                }
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
                let used = (count * tilesPerImage + 23) / 24 * 24
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
                // Back to NCHW rows: 16 positions × 16 channels at a time into `rows`, then each
                // channel's row through the epilogue.
                for n in 0..<count {
                    for kb in 0..<(ks / 16) {
                        for oh in 0..<plan.outH {
                            let src = out + n * outImage + oh * outColumns * ks + 16 * kb
                            var ow = 0
                            while ow < plan.outW {
                                let columns = min(16, plan.outW - ow)
                                rkd_transpose_block(src + ow * ks, ks, Int32(columns), 16, rows, 16)
                                for k in 0..<16 {
                                    let offset = ((n0 + n) * ks + 16 * kb + k) * outPlane + oh * plan.outW + ow
                                    epilogue.store(
                                        rows + 16 * k,
                                        bias: 0,
                                        output + offset,
                                        offset: offset,
                                        count: columns
                                    )
                                }
                                ow += columns
                            }
                        }
                    }
                }
            }
        }
    }
}
