import Foundation
import NN
import TensorEngine

/// Forward FLOPs of one image through ResNet-20 (width 16, 1×28×28): its 19 convolutions plus the
/// linear layer; batch norm, ReLU, additions and pooling are not counted (the usual convention).
func resnet20ForwardFlopsPerImage() -> Double {
    resnet20ConvShapes(batch: 1).reduce(0.0) { $0 + convFlops($1.geometry) * Double($1.perImage) } + 2.0 * 64 * 10
}

/// Whole-model throughput of ResNet-20 on 1×28×28 at `batch`: inference forward, forward plus input
/// gradient (one attack step), and one training step.
func benchmarkModels(batch: Int, into report: inout BenchmarkReport) {
    var rng = RandomGenerator(seed: 3)
    let model = ResNet20(inputChannels: 1, imageSize: 28, classes: 10, width: 16, seed: 4)
    let x = Tensor.uniform([batch, 1, 28, 28], using: &rng)
    let labels = (0..<batch).map { _ in rng.nextInt(below: 10) }
    let flops = resnet20ForwardFlopsPerImage() * Double(batch)
    let section = "ResNet-20 (width 16, 1×28×28), batch \(batch)"

    func add(_ name: String, flopsFactor: Double, _ body: () -> Void) {
        let t = Timing.measure(minRuns: 5, minSeconds: 3, body)
        let ips = Double(batch) / t.median
        report.rows.append(
            BenchmarkRow(
                section: section,
                name: name,
                shape: "N=\(batch)",
                medianMilliseconds: t.median * 1e3,
                gflops: flops * flopsFactor / t.median / 1e9,
                imagesPerSecond: ips,
                runs: t.runs.count,
                validation: "kernels above"
            )
        )
        print("ResNet-20 \(name): \(String(format: "%.0f", ips)) images/s")
    }

    // Inference records no tape (the parameters are tracked leaves: without this every op of the
    // pass would keep a node and its output, which onnxruntime, the peer, never does).
    add("forward (inference)", flopsFactor: 1) {
        blackHole(withoutGradients { model.logits(x) })
    }
    add("forward + input gradient (attack step)", flopsFactor: 2) {
        let tx = x.tracked()
        let loss = crossEntropy(logits: model.logits(tx, context: ForwardContext(isTraining: false)), labels: labels)
        blackHole(gradient(of: loss, wrt: [tx]))
    }
    var optimizer = SGD(learningRate: 0.01, momentum: 0.9, nesterov: false, weightDecay: 5e-4)
    add("train step (SGD, batch-norm training mode)", flopsFactor: 3) {
        blackHole(trainStep(model: model, optimizer: &optimizer, inputs: x, labels: labels))
    }
    report.notes.append(
        "Effective GFLOP/s count \(String(format: "%.1f", resnet20ForwardFlopsPerImage() / 1e6)) MFLOP per image forward "
            + "(convolutions and the linear layer), ×2 with the input gradient, ×3 for a training step."
    )
}
