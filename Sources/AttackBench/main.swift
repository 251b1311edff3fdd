// AttackBench (`make bench`): attack throughput on the engine, with peers from the same run.
//
//   One forward pass and one attack step (forward + input gradient) at batch 128 on ResNet-20 and
//   the sample SmallCNN; PGD-10 L∞ (ε 0.1, step 2.5ε/10, random start, batch 128, every step on every example as
//   torchattacks runs it) on ResNet-20 (width 16, 1×28×28, seeded random weights) and on the sample
//   SmallCNN; the AutoAttack standard at L∞ ε 0.1 on the sample SmallCNN over the first 100
//   Fashion-MNIST test images (seconds per image); training steps on ResNet-20 at batch 128 (SGD with
//   momentum and weight decay, batch norm in training mode): a standard step and a PGD-7 L∞ ε 0.1
//   adversarial-training step (crafted in evaluation mode, trained in training mode); Robust-KD steps
//   (ResNet-20 into ResNet-20, 3 stage layers, 1 projection), exact and finite-difference, each per
//   layer and with the joint projection (one projected Jacobian spanning the layers). Peers: scripts/attack_peers.py (PyTorch +
//   torchattacks on the same architectures and the sample's weights), run just before by `make bench`
//   when .venv-torch exists (scripts/bootstrap --torch).
//
//   swift run -c release AttackBench [--peers FILE] [--output docs/benchmarks/attacks] [--runs 3]
import Attacks
import Datasets
import Distillation
import Foundation
import NN
import ONNXInterop
import TensorEngine
import Training

var peersPath: String?
var outputStem = "docs/benchmarks/attacks"
var runs = 3
/// Workload groups to run (step, pgd, train, rkd, autoattack; train-step is the train group's standard
/// step alone, for profiling); all when empty. A partial run writes no files.
var only: Set<String> = []
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("AttackBench: \(flag) needs a value\n".utf8))
        exit(64)
    }
    switch flag {
    case "--peers": peersPath = value
    case "--output": outputStem = value
    case "--runs": runs = max(Int(value) ?? runs, 1)
    case "--only": only = Set(value.split(separator: ",").map(String.init))
    default:
        FileHandle.standardError.write(
            Data(
                "AttackBench: unknown flag \(flag) (--peers, --output, --runs, --only step,pgd,train,train-step,rkd,autoattack)\n"
                    .utf8
            )
        )
        exit(64)
    }
}

struct Row: Codable {
    var workload: String
    var tool: String
    var median: Double
    var unit: String
    var runs: [Double]
    var note: String?
}

/// The medians of `runs` timings of `body` (seconds), after one warm-up.
func time(_ runs: Int, warmUp: Bool = true, _ body: () throws -> Void) rethrows -> [Double] {
    if warmUp { try body() }
    return try (0..<runs).map { _ in
        let start = Date()
        try body()
        return Date().timeIntervalSince(start)
    }
}

@MainActor func selected(_ group: String) -> Bool { only.isEmpty || only.contains(group) }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
}

/// rkd's row of a batch-128 workload timed as `seconds` per batch; prints "rkd LABEL: N images/s".
func rkdImagesPerSecond(_ workload: String, label: String, _ seconds: [Double]) -> Row {
    print("rkd \(label): \(Int(128 / median(seconds))) images/s")
    return Row(
        workload: workload,
        tool: "rkd",
        median: 128 / median(seconds),
        unit: "images/s",
        runs: seconds.map { 128 / $0 },
        note: nil
    )
}

do {
    var rows: [Row] = []
    let test = try DatasetCatalog().load("fashion-mnist", split: .test)
    let sampleURL = URL(fileURLWithPath: "samples/models/fmnist-smallcnn.onnx")
    let sample = ImportedGraphModel(graph: try ImportedGraph(try ONNXModel(contentsOf: sampleURL)))
    let resnet = ClassifierAttackModel(ResNet20(inputChannels: 1, imageSize: 28, width: 16, seed: 0))

    let batch = test.prefix(128)

    // One forward pass (evaluation mode, nothing recorded) and one attack step (forward + the
    // input gradient of the cross-entropy) at batch 128: the engine's building blocks, per model.
    for (name, model) in [("ResNet-20", resnet as any AttackModel), ("SmallCNN (sample)", sample as any AttackModel)]
    where selected("step") {
        let x = Tensor(shape: batch.shape, scalars: batch.images)
        for (kind, body) in [
            ("forward (inference)", { _ = try withoutGradients { try model.logits(x) } }),
            (
                "forward + input gradient (one attack step)",
                {
                    let input = x.tracked()
                    let loss = crossEntropy(logits: try model.logits(input), labels: batch.labels)
                    _ = gradient(of: loss, wrt: [input])
                }
            ),
        ] as [(String, () throws -> Void)] {
            // Short workloads: 5 timings per reported run, so that one run is not one timing.
            let seconds = try time(runs * 5, body)
            rows.append(rkdImagesPerSecond("\(kind) \(name), batch 128", label: "\(kind) \(name)", seconds))
        }
    }

    // PGD-10 at batch 128, labels = each model's own clean predictions (every example attacked).
    for (name, model) in [("ResNet-20", resnet as any AttackModel), ("SmallCNN (sample)", sample as any AttackModel)]
    where selected("pgd") {
        let x = Tensor(shape: batch.shape, scalars: batch.images)
        let labels = try withoutGradients { try model.logits(x) }.argmax(axis: 1)
        let attackBatch = AttackBatch(inputs: batch.images, labels: labels, indices: Array(0..<128), seed: 1)
        let pgd = PGD(.linf, epsilon: 0.1, steps: 10, stopsEarly: false)
        let seconds = try time(runs) { _ = try pgd.run(on: model, attackBatch) }
        rows.append(rkdImagesPerSecond("PGD-10 L∞ \(name), batch 128", label: "PGD-10 \(name)", seconds))
    }

    // Training steps on ResNet-20, batch 128, the first 128 test images with their labels.
    if selected("train") || only.contains("train-step") {
        let model = ResNet20(inputChannels: 1, imageSize: 28, width: 16, seed: 0)
        var optimizer = SGD(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
        let x = Tensor(shape: batch.shape, scalars: batch.images)
        let training = AdversarialTraining(.linf, epsilon: 0.1, steps: 7)
        var step: UInt64 = 0
        for (name, body) in [
            (
                "train step (SGD, batch-norm training mode)",
                { trainStep(model: model, optimizer: &optimizer, inputs: x, labels: batch.labels) }
            ),
            (
                "PGD-7 L∞ ε=0.1 adversarial-training step",
                {
                    step += 1
                    return try training.step(
                        model: model,
                        optimizer: &optimizer,
                        inputs: x,
                        labels: batch.labels,
                        indices: Array(0..<128),
                        seed: step
                    )
                }
            ),
        ] as [(String, () throws -> Float)] where selected("train") || !name.hasPrefix("PGD") {
            let seconds = try time(runs) { _ = try body() }
            rows.append(rkdImagesPerSecond("\(name) ResNet-20, batch 128", label: "\(name)", seconds))
        }
    }

    // Robust-KD steps, ResNet-20 teacher (seed 0) into a ResNet-20 student (seed 1), batch 128: the
    // three resolution stages paired (no adapters), α 50, β 5e-3, 1 projection, cosine; exact (double
    // backward) and finite-difference Jacobian terms.
    if selected("rkd") {
        let teacher = ResNet20(inputChannels: 1, imageSize: 28, width: 16, seed: 0)
        let student = ResNet20(inputChannels: 1, imageSize: 28, width: 16, seed: 1)
        let pairs = LayerPairing.featurePairs(
            try LayerPairing.automatic(
                teacher: LayerPairing.maps(of: teacher),
                student: LayerPairing.maps(of: student)
            ),
            seed: 1
        )
        let x = Tensor(shape: batch.shape, scalars: batch.images)
        let modes: [(String, JacobianMode, ProjectionScope)] = [
            ("exact", .exact, .perLayer), ("fd", .finiteDifference(step: 0.01), .perLayer),
            ("exact, joint projection", .exact, .joint),
            ("fd, joint projection", .finiteDifference(step: 0.01), .joint),
        ]
        for (mode, jacobian, scope) in modes {
            var settings = RobustKDSettings()
            settings.jacobian = jacobian
            settings.projectionScope = scope
            let kd = RobustKD(teacher: teacher, student: student, pairs: pairs, settings: settings)
            var optimizer = SGD(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
            var random = RandomGenerator(seed: 5)
            let seconds = time(runs) {
                kd.step(optimizer: &optimizer, inputs: x, labels: batch.labels, random: &random)
            }
            let workload = "Robust-KD step (\(mode), \(pairs.count) layers, 1 projection) ResNet-20, batch 128"
            rows.append(rkdImagesPerSecond(workload, label: "\(workload)", seconds))
        }
    }

    // The AutoAttack standard on the sample, 100 test images with their true labels.
    guard selected("autoattack") else {
        print("a partial run (--only \(only.sorted().joined(separator: ","))): no files written")
        exit(0)
    }
    let hundred = test.prefix(100)
    let aaBatch = AttackBatch(inputs: hundred.images, labels: hundred.labels, indices: Array(0..<100), seed: 1)
    var robust = 0
    let aaSeconds = try time(1, warmUp: false) {
        let result = try AutoAttack(.linf, epsilon: 0.1).run(on: sample, aaBatch)
        robust = result.fooled.filter { !$0 }.count
    }
    rows.append(
        Row(
            workload: "AutoAttack standard L∞ ε=0.1, SmallCNN (sample), 100 images",
            tool: "rkd",
            median: median(aaSeconds) / 100,
            unit: "s/image",
            runs: aaSeconds.map { $0 / 100 },
            note: "robust \(robust)/100"
        )
    )
    print("rkd AutoAttack: \(median(aaSeconds) / 100) s/image, robust \(robust)/100")

    // Where AutoAttack's time goes: each member on the examples the earlier ones left, as the
    // ensemble runs them.
    var remaining = Array(0..<100)
    let cleanPredictions = try withoutGradients {
        try sample.logits(Tensor(shape: hundred.shape, scalars: hundred.images))
    }
    .argmax(axis: 1)
    remaining = remaining.filter { cleanPredictions[$0] == hundred.labels[$0] }
    for member in AutoAttack(.linf, epsilon: 0.1).members {
        let part = aaBatch.subset(remaining, dimension: 784)
        let start = Date()
        let result = try member.run(on: sample, part)
        let seconds = Date().timeIntervalSince(start)
        rows.append(
            Row(
                workload: "AutoAttack member \(member.name), SmallCNN (sample)",
                tool: "rkd",
                median: seconds,
                unit: "s",
                runs: [seconds],
                note: "\(remaining.count) examples in, \(result.fooled.filter { !$0 }.count) robust after"
            )
        )
        print("rkd AutoAttack member \(member.name): \(seconds) s on \(remaining.count) examples")
        remaining = zip(remaining, result.fooled).filter { !$0.1 }.map(\.0)
    }

    if let peersPath {
        do {
            rows += try JSONDecoder().decode([Row].self, from: Data(contentsOf: URL(fileURLWithPath: peersPath)))
        } catch {
            print("peer figures missing: \(error)")
        }
    }

    // The report: each workload's figures, and rkd's ratio to each peer (higher is better for rkd).
    var markdown = """
        # Attack benchmarks

        `make bench` (AttackBench, scripts/attack_peers.py), \(SIMDLevel.cpuModel), the engine's \
        \(SIMDLevel.active.supported.rawValue) kernels, \(ProcessInfo.processInfo.activeProcessorCount) cores, \
        RKD_THREADS=\(ProcessInfo.processInfo.environment["RKD_THREADS"] ?? "default"); medians of \(runs) runs \
        (the AutoAttack row: one run). Peers run in the same `make bench`, just before, on the same machine.

        | workload | tool | median | unit | ratio rkd/peer | note |
        | --- | --- | --- | --- | --- | --- |

        """
    for row in rows {
        var ratio = "–"
        if row.tool != "rkd", let ours = rows.first(where: { $0.tool == "rkd" && $0.workload == row.workload }) {
            let r = row.unit == "images/s" ? ours.median / row.median : row.median / ours.median
            ratio = String(format: "%.2f×", r)
        }
        markdown += "| \(row.workload) | \(row.tool) | \(String(format: "%.3f", row.median)) | \(row.unit) | \(ratio) "
        markdown += "| \(row.note ?? "") |\n"
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try FileManager.default.createDirectory(
        at: URL(fileURLWithPath: outputStem).deletingLastPathComponent(),
        withIntermediateDirectories: true
    )
    try encoder.encode(rows).write(to: URL(fileURLWithPath: outputStem + ".json"))
    try Data(markdown.utf8).write(to: URL(fileURLWithPath: outputStem + ".md"))
    print(markdown)
} catch {
    FileHandle.standardError.write(Data("AttackBench: \(error)\n".utf8))
    exit(1)
}

/// An imported graph with one input and logits out, as an attack model (the sample has no Softmax).
struct ImportedGraphModel: AttackModel {
    let graph: ImportedGraph
    var inputShape: [Int] { [1, 28, 28] }
    var classCount: Int { 10 }
    var inputBounds: ClosedRange<Float> { 0...1 }

    func logits(_ x: Tensor) throws -> Tensor {
        guard let name = graph.inputNames.first, let output = graph.outputNames.first,
            let y = try graph.run([name: x], outputs: [output])[output]
        else { throw AttackError(.modelOutput, "the sample model produced no output") }
        return y
    }
}
