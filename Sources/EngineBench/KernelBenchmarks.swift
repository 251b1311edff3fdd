import Foundation
import TensorEngine
import TensorEngineTestSupport

/// ResNet-20's convolution shapes on 28×28 single-channel input (Fashion-MNIST), batch N.
func resnet20ConvShapes(batch N: Int) -> [(name: String, geometry: Conv2DGeometry, perImage: Int)] {
    func conv(_ c: Int, _ k: Int, _ hw: Int, _ r: Int, _ stride: Int) -> Conv2DGeometry {
        Conv2DGeometry(
            batch: N,
            inChannels: c,
            height: hw,
            width: hw,
            outChannels: k,
            kernelHeight: r,
            kernelWidth: r,
            strideH: stride,
            strideW: stride,
            padTop: r / 2,
            padLeft: r / 2,
            padBottom: r / 2,
            padRight: r / 2
        )
    }
    return [
        ("stem 1→16 3×3 @28", conv(1, 16, 28, 3, 1), 1),
        ("16→16 3×3 @28", conv(16, 16, 28, 3, 1), 6),
        ("16→32 3×3 s2 @28", conv(16, 32, 28, 3, 2), 1),
        ("16→32 1×1 s2 @28", conv(16, 32, 28, 1, 2), 1),
        ("32→32 3×3 @14", conv(32, 32, 14, 3, 1), 5),
        ("32→64 3×3 s2 @14", conv(32, 64, 14, 3, 2), 1),
        ("32→64 1×1 s2 @14", conv(32, 64, 14, 1, 2), 1),
        ("64→64 3×3 @7", conv(64, 64, 7, 3, 1), 5),
    ]
}

/// Multiply–adds ×2 of a convolution (the same count for its two backward kernels).
func convFlops(_ g: Conv2DGeometry) -> Double {
    2.0
        * Double(
            g.batch * g.outChannels * (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth
                * g.outHeight * g.outWidth
        )
}

private func randomArray(_ n: Int, _ rng: inout RandomGenerator) -> [Float] {
    (0..<n).map { _ in rng.nextNormal() }
}

/// sgemm GFLOP/s at square and convolution-like shapes.
func benchmarkGEMM(into report: inout BenchmarkReport) {
    var rng = RandomGenerator(seed: 1)
    let shapes: [(Int, Int, Int)] = [(512, 512, 512), (1024, 1024, 1024), (16, 100_352, 144), (64, 6272, 576)]
    for (M, N, K) in shapes {
        let a = randomArray(M * K, &rng)
        let b = randomArray(K * N, &rng)
        // Check a corner of the product against the naive twin (the full naive product is too slow at this size).
        let fast = Kernels.gemm(a, b, M: M, N: N, K: K)
        let rows = min(M, 8)
        let naive = NaiveKernels.gemm(Array(a[0..<(rows * K)]), b, M: rows, N: N, K: K)
        let error = Tolerance.scaledMaxError(Array(fast[0..<(rows * N)]), naive)
        let t = Timing.measure { blackHole(Kernels.gemm(a, b, M: M, N: N, K: K)) }
        report.rows.append(
            BenchmarkRow(
                section: "OpenBLAS sgemm",
                name: "sgemm",
                shape: "M=\(M) N=\(N) K=\(K)",
                medianMilliseconds: t.median * 1e3,
                gflops: 2.0 * Double(M * N * K) / t.median / 1e9,
                imagesPerSecond: nil,
                runs: t.runs.count,
                validation: error < 1e-4 ? "ok (\(rows) rows)" : "FAILED \(error)"
            )
        )
        print("sgemm \(M)x\(N)x\(K): \(String(format: "%.1f", 2.0 * Double(M * N * K) / t.median / 1e9)) GFLOP/s")
    }
}

/// Convolution forward, backward-input and backward-filter at ResNet-20's shapes.
func benchmarkConvolutions(batch: Int, into report: inout BenchmarkReport) {
    var rng = RandomGenerator(seed: 2)
    var totals = (forward: 0.0, input: 0.0, filter: 0.0, flops: 0.0)
    for (name, g, perImage) in resnet20ConvShapes(batch: batch) {
        // Validated on a small batch of the same geometry against the naive loop twins.
        let (x, w, dy, small, xs, dys) = convInputs(g, &rng)
        let checks = [
            Tolerance.scaledMaxError(
                Kernels.conv2d(xs, w, bias: nil, small),
                NaiveKernels.conv2d(xs, w, bias: nil, small)
            ),
            Tolerance.scaledMaxError(
                Kernels.conv2dBackwardInput(dys, w, small),
                NaiveKernels.conv2dBackwardInput(dys, w, small)
            ),
            Tolerance.scaledMaxError(
                Kernels.conv2dBackwardFilter(xs, dys, small),
                NaiveKernels.conv2dBackwardFilter(xs, dys, small)
            ),
        ]
        let flops = convFlops(g)
        let kernels: [(String, () -> Void)] = [
            ("forward", { blackHole(Kernels.conv2d(x, w, bias: nil, g)) }),
            ("backward input", { blackHole(Kernels.conv2dBackwardInput(dy, w, g)) }),
            ("backward filter", { blackHole(Kernels.conv2dBackwardFilter(x, dy, g)) }),
        ]
        for (k, (kind, body)) in kernels.enumerated() {
            let t = Timing.measure(minRuns: 5, minSeconds: 0.5, body)
            let gflops = flops / t.median / 1e9
            report.rows.append(
                BenchmarkRow(
                    section: "Convolution kernels at ResNet-20 shapes, batch \(batch)",
                    name: "\(kind): \(name)",
                    shape: "N=\(batch) C=\(g.inChannels) K=\(g.outChannels) \(g.height)→\(g.outHeight)",
                    medianMilliseconds: t.median * 1e3,
                    gflops: gflops,
                    imagesPerSecond: nil,
                    runs: t.runs.count,
                    validation: checks[k] < 1e-4 ? "ok" : "FAILED \(checks[k])"
                )
            )
            let best = flops / (t.runs.min() ?? t.median) / 1e9
            print(
                "conv \(kind) \(name): \(String(format: "%.1f", gflops)) GFLOP/s "
                    + "(best run \(String(format: "%.1f", best)))"
            )
            switch k {
            case 0: totals.forward += t.median * Double(perImage)
            case 1: totals.input += t.median * Double(perImage)
            default: totals.filter += t.median * Double(perImage)
            }
        }
        totals.flops += flops * Double(perImage)
    }
    for (kind, seconds) in [
        ("forward", totals.forward), ("backward input", totals.input), ("backward filter", totals.filter),
    ] {
        report.rows.append(
            BenchmarkRow(
                section: "Convolution kernels at ResNet-20 shapes, batch \(batch)",
                name: "all 19 convolutions: \(kind)",
                shape: "N=\(batch)",
                medianMilliseconds: seconds * 1e3,
                gflops: totals.flops / seconds / 1e9,
                imagesPerSecond: Double(batch) / seconds,
                runs: 0,
                validation: "sum of the rows above"
            )
        )
    }
}

/// The convolution epilogue: relu(conv(x) + bias + residual) as the kernel stores its results,
/// against the convolution followed by separate add and relu passes, timed in alternating rounds in
/// one process (so that this host's minute-to-minute swings fall on both alike).
func benchmarkEpilogues(batch: Int, into report: inout BenchmarkReport) {
    var rng = RandomGenerator(seed: 5)
    let section = "Convolution epilogue (bias + residual + relu), batch \(batch)"
    let shapes = resnet20ConvShapes(batch: batch).filter {
        ["16→16 3×3 @28", "32→32 3×3 @14", "64→64 3×3 @7", "16→32 3×3 s2 @28"].contains($0.name)
    }
    for (name, g, _) in shapes {
        let x = randomArray(g.inputCount, &rng)
        let w = randomArray(g.weightCount, &rng)
        let bias = randomArray(g.outChannels, &rng)
        let residual = randomArray(g.outputCount, &rng)
        let separate = { Kernels.relu(Kernels.add(Kernels.conv2d(x, w, bias: bias, g), residual)) }
        let fused = { Kernels.conv2d(x, w, bias: bias, g, residual: residual, relu: true) }
        let validation = separate() == fused() ? "ok (equal bit for bit)" : "FAILED: fused differs"
        let (times, medians) = Timing.alternating([{ blackHole(separate()) }, { blackHole(fused()) }])
        for (k, kind) in ["conv, then add and relu passes", "fused epilogue"].enumerated() {
            report.rows.append(
                convRow(section, "\(kind): \(name)", g, median: medians[k], runs: times[k].count, validation)
            )
        }
        print(
            "epilogue \(name): separate \(String(format: "%.2f", medians[0] * 1e3)) ms, fused "
                + "\(String(format: "%.2f", medians[1] * 1e3)) ms (\(String(format: "%.2f", medians[0] / medians[1]))×)"
        )
    }
}

/// Max pooling 2×2 stride 2 (with its argmax) at the sample SmallCNN's shapes.
func benchmarkPooling(batch: Int, into report: inout BenchmarkReport) {
    var rng = RandomGenerator(seed: 6)
    for (channels, size) in [(32, 28), (64, 14)] {
        let g = Pool2DGeometry(
            batch: batch,
            channels: channels,
            height: size,
            width: size,
            kernelHeight: 2,
            kernelWidth: 2,
            strideH: 2,
            strideW: 2
        )
        let x = randomArray(g.inputCount, &rng)
        var small = g
        small.batch = 2
        let xs = Array(x[0..<small.inputCount])
        let fast = Kernels.maxPool2d(xs, small)
        let naive = NaiveKernels.maxPool2d(xs, small)
        let validation = fast.values == naive.values && fast.argmax == naive.argmax ? "ok" : "FAILED"
        let name = "\(channels) channels \(size)×\(size) → \(size / 2)×\(size / 2)"
        for (kind, body) in [("maxPool2d 2×2 s2 with argmax", { blackHole(Kernels.maxPool2d(x, g)) })]
            as [(String, () -> Void)]
        {
            let t = Timing.measure(minRuns: 5, minSeconds: 0.5, body)
            report.rows.append(
                BenchmarkRow(
                    section: "Pooling at the small CNN's shapes, batch \(batch)",
                    name: "\(kind): \(name)",
                    shape: "N=\(batch)",
                    medianMilliseconds: t.median * 1e3,
                    gflops: nil,
                    imagesPerSecond: Double(batch) / t.median,
                    runs: t.runs.count,
                    validation: validation
                )
            )
            print("\(kind) \(name): \(String(format: "%.3f", t.median * 1e3)) ms")
        }
    }
}

/// Winograd F(2×2, 3×3) and F(4×4, 3×3) against the direct kernel on ResNet-20's stride-1 3×3 shapes, forward and
/// input gradient, and F(2×2)'s filter gradient, timed in alternating rounds in one process. GFLOP/s count the direct
/// convolution's multiply–adds for both (so they compare times, not the arithmetic each does).
func benchmarkWinograd(batch: Int, into report: inout BenchmarkReport) {
    var rng = RandomGenerator(seed: 6)
    let section = "Winograd F(2×2, 3×3) and F(4×4, 3×3) against direct, batch \(batch)"
    let shapes = resnet20ConvShapes(batch: batch).filter { $0.geometry.strideH == 1 && $0.geometry.kernelHeight == 3 }
    for (name, g, _) in shapes {
        let (x, w, dy, small, xs, dys) = convInputs(g, &rng)
        for kind in ["forward", "backward input", "backward filter"] {
            // The filter gradient has F(2×2)'s adjoint only.
            let algorithms: [(String, Conv2DAlgorithm)] =
                kind == "backward filter"
                ? [("direct", .direct), ("winograd", .winograd)]
                : [("direct", .direct), ("winograd", .winograd), ("winograd F(4×4)", .winograd4)]
            let bodies: [() -> Void] = algorithms.map { _, algorithm in
                switch kind {
                case "forward": return { blackHole(Kernels.conv2d(x, w, bias: nil, g, algorithm: algorithm)) }
                case "backward input": return { blackHole(Kernels.conv2dBackwardInput(dy, w, g, algorithm: algorithm)) }
                default: return { blackHole(Kernels.conv2dBackwardFilter(x, dy, g, algorithm: algorithm)) }
                }
            }
            let errors = algorithms.map { _, algorithm in
                switch kind {
                case "forward":
                    Tolerance.scaledMaxError(
                        Kernels.conv2d(xs, w, bias: nil, small, algorithm: algorithm),
                        NaiveKernels.conv2d(xs, w, bias: nil, small)
                    )
                case "backward input":
                    Tolerance.scaledMaxError(
                        Kernels.conv2dBackwardInput(dys, w, small, algorithm: algorithm),
                        NaiveKernels.conv2dBackwardInput(dys, w, small)
                    )
                default:
                    Tolerance.scaledMaxError(
                        Kernels.conv2dBackwardFilter(xs, dys, small, algorithm: algorithm),
                        NaiveKernels.conv2dBackwardFilter(xs, dys, small)
                    )
                }
            }
            let (times, medians) = Timing.alternating(bodies)
            for (k, (label, _)) in algorithms.enumerated() {
                let validation = errors[k] < 1e-4 ? "ok" : "FAILED \(errors[k])"
                report.rows.append(
                    convRow(
                        section,
                        "\(kind) \(label): \(name)",
                        g,
                        median: medians[k],
                        runs: times[k].count,
                        validation
                    )
                )
            }
            let others = (1..<algorithms.count).map { k in
                let label = k == 1 ? "F(2×2)" : "F(4×4)"
                return "\(label) \(String(format: "%.2f", medians[k] * 1e3)) ms "
                    + "(\(String(format: "%.2f", medians[0] / medians[k]))×)"
            }
            print(
                "winograd \(kind) \(name): direct \(String(format: "%.2f", medians[0] * 1e3)) ms, "
                    + others.joined(separator: ", ")
            )
        }
    }
}

/// A row of a convolution timed in alternating rounds: its median and GFLOP/s at the direct
/// convolution's multiply–adds.
private func convRow(
    _ section: String,
    _ name: String,
    _ g: Conv2DGeometry,
    median: Double,
    runs: Int,
    _ validation: String
) -> BenchmarkRow {
    BenchmarkRow(
        section: section,
        name: name,
        shape: "N=\(g.batch) C=\(g.inChannels) K=\(g.outChannels) \(g.height)→\(g.outHeight)",
        medianMilliseconds: median * 1e3,
        gflops: convFlops(g) / median / 1e9,
        imagesPerSecond: nil,
        runs: runs,
        validation: validation
    )
}

/// Random x, w and dy of a convolution, and the same geometry at batch 2 with the first images of x
/// and dy (for the checks against the naive loop twins).
private func convInputs(
    _ g: Conv2DGeometry,
    _ rng: inout RandomGenerator
) -> (x: [Float], w: [Float], dy: [Float], small: Conv2DGeometry, xs: [Float], dys: [Float]) {
    let x = randomArray(g.inputCount, &rng)
    let w = randomArray(g.weightCount, &rng)
    let dy = randomArray(g.outputCount, &rng)
    var small = g
    small.batch = 2
    return (x, w, dy, small, Array(x[0..<small.inputCount]), Array(dy[0..<small.outputCount]))
}
