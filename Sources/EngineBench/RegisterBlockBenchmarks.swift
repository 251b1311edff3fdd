import Foundation
import TensorEngine
import TensorEngineAVX512

/// The register blocks of the stride-1 direct convolution alone (AVX-512's or AVX2's, whichever the
/// engine runs), on every engine thread (each with its own buffers), their input, weights and results
/// resident in L1/L2: how close the inner loop itself comes to the FMA peak, apart from the copies,
/// junk positions and memory traffic of a whole convolution.
func benchmarkRegisterBlocks(into report: inout BenchmarkReport) {
    let avx512 = SIMDLevel.active.supported == .avx512
    let blockPositions = avx512 ? directBlockPositions512 : Kernels.directBlockPositions
    let runBlocks = Kernels.registerBlocks(SIMDLevel.active.supported)
    let section =
        "Direct-convolution register blocks in cache (\(avx512 ? "AVX-512" : "AVX2"), 3×3 taps, 16 output channels, "
        + "per-thread buffers)"
    let rowLength = 30
    let outChannels = 16
    for (channels, blocks) in [(16, 1), (16, 16), (64, 1), (64, 16)] {
        let positions = blockPositions * blocks
        let channelStride = positions + 2 * rowLength + 2 + blockPositions
        var x = [Float](repeating: 0, count: channels * channelStride)
        for i in x.indices { x[i] = Float(i % 7) * 0.01 }
        var offsets: [Int] = []
        for c in 0..<channels {
            for r in 0..<3 {
                for s in 0..<3 { offsets.append(c * channelStride + r * rowLength + s) }
            }
        }
        let taps = offsets.count
        let packed = [Float](repeating: 0.5, count: outChannels * taps)
        let repetitions = max(1, 2_000_000 / (taps * blocks))
        let threads = EngineThreads.count
        var outs = [[Float]](repeating: [Float](repeating: 0, count: outChannels * positions), count: threads)
        let t = Timing.measure(minRuns: 5, minSeconds: 0.5) {
            x.withUnsafeBufferPointer { px in
                offsets.withUnsafeBufferPointer { po in
                    packed.withUnsafeBufferPointer { pw in
                        guard let px = px.baseAddress, let po = po.baseAddress, let pw = pw.baseAddress else { return }
                        // One private input copy per thread, so no two threads share a cache line.
                        let xAddress = Int(bitPattern: px)
                        let oAddress = Int(bitPattern: po)
                        let wAddress = Int(bitPattern: pw)
                        let results = UnsafeMutablePointer<Float>.allocate(capacity: threads * outChannels * positions)
                        defer { results.deallocate() }
                        let resultsAddress = Int(bitPattern: results)
                        DispatchQueue.concurrentPerform(iterations: threads) { thread in
                            guard let px = UnsafePointer<Float>(bitPattern: xAddress),
                                let po = UnsafePointer<Int>(bitPattern: oAddress),
                                let pw = UnsafePointer<Float>(bitPattern: wAddress),
                                let base = UnsafeMutablePointer<Float>(bitPattern: resultsAddress)
                            else { return }
                            let xCopy = UnsafeMutablePointer<Float>.allocate(capacity: channels * channelStride)
                            defer { xCopy.deallocate() }
                            xCopy.initialize(from: px, count: channels * channelStride)
                            let py = base + thread * outChannels * positions
                            for _ in 0..<repetitions {
                                runBlocks(xCopy, po, taps, pw, outChannels / 4, py, positions, 0, positions)
                            }
                        }
                        outs[0] = Array(UnsafeBufferPointer(start: results, count: outChannels * positions))
                    }
                }
            }
        }
        let out = outs[0]
        // Every result is Σ over taps of 0.5·x: check one against that sum.
        let expected = offsets.reduce(0.0) { $0 + 0.5 * Double(x[$1]) }
        let validation = abs(Double(out[0]) - expected) <= 1e-4 * max(1, abs(expected)) ? "ok" : "FAILED"
        let flops = 2.0 * Double(threads * repetitions * positions * taps * outChannels)
        let gflops = flops / t.median / 1e9
        let inputKB = channels * channelStride * 4 / 1024
        report.rows.append(
            BenchmarkRow(
                section: section,
                name: "C=\(channels), \(blocks) position block\(blocks == 1 ? "" : "s") (input \(inputKB) KB)",
                shape: "\(taps) taps × \(blockPositions) positions × 16 channels",
                medianMilliseconds: t.median * 1e3,
                gflops: gflops,
                imagesPerSecond: nil,
                runs: t.runs.count,
                validation: validation
            )
        )
        print(
            "register blocks C=\(channels) × \(blocks) blocks, \(threads) threads: \(String(format: "%.1f", gflops)) GFLOP/s"
        )
    }
}
