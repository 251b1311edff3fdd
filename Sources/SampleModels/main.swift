// SampleModels: trains the classifiers shipped in samples/models/ with rkd's own engine and writes
// them as ONNX with a manifest (command, seed, data, schedule, accuracy). `make samples` runs it; the
// files are committed, so nothing trains at test or demo time.
//
//     swift run -c release SampleModels [--arch small-cnn|resnet20] [--output samples/models] [--epochs 2] [--seed 1]
import Datasets
import Foundation
import NN
import ONNXInterop
import TensorEngine

var output = "samples/models"
var epochs = 2
var seed: UInt64 = 1
var arch = "small-cnn"
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("SampleModels: \(flag) needs a value\n".utf8))
        exit(64)
    }
    switch flag {
    case "--output": output = value
    case "--epochs": epochs = Int(value) ?? epochs
    case "--seed": seed = UInt64(value) ?? seed
    case "--arch":
        guard ["small-cnn", "resnet20"].contains(value) else {
            FileHandle.standardError.write(Data("SampleModels: --arch is small-cnn or resnet20, not \(value)\n".utf8))
            exit(64)
        }
        arch = value
    default:
        FileHandle.standardError.write(
            Data("SampleModels: unknown flag \(flag) (--arch, --output, --epochs, --seed)\n".utf8)
        )
        exit(64)
    }
}

struct Manifest: Codable {
    var name: String
    var architecture: String
    var dataset: String
    var trainExamples: Int
    var testExamples: Int
    var epochs: Int
    var batchSize: Int
    var optimizer: String
    var seed: UInt64
    var testAccuracy: Double
    var trainingSeconds: Double
    var command: String
    var sha256: String
}

func sha256Hex(_ url: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [url.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}

do {
    let catalog = try DatasetCatalog()
    let train = try catalog.load("fashion-mnist", split: .train)
    let test = try catalog.load("fashion-mnist", split: .test)
    let model: any Classifier =
        arch == "resnet20"
        ? ResNet20(inputChannels: 1, imageSize: 28, classes: 10, width: 16, seed: seed) : SmallCNN(seed: seed)
    let batchSize = 128
    let stepsPerEpoch = (train.count + batchSize - 1) / batchSize
    let schedule = CosineSchedule(base: 0.05, totalSteps: max(1, epochs * stepsPerEpoch))  // --epochs 0: untrained
    var optimizer = SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
    let start = Date()
    var step = 0
    for epoch in 0..<epochs {
        var lossSum: Float = 0
        for batch in try train.batches(size: batchSize, order: .shuffled(seed: seed &+ UInt64(epoch))) {
            optimizer.learningRate = schedule.learningRate(at: step)
            lossSum += trainStep(
                model: model,
                optimizer: &optimizer,
                inputs: Tensor(shape: batch.shape, scalars: batch.images),
                labels: batch.labels
            )
            step += 1
        }
        print("epoch \(epoch + 1)/\(epochs): mean loss \(lossSum / Float(stepsPerEpoch))")
    }
    let seconds = Date().timeIntervalSince(start)
    let accuracy = model.accuracy(Tensor(shape: test.shape, scalars: test.images), labels: test.labels)
    print("test accuracy \(accuracy) after \(Int(seconds)) s")
    let directory = URL(fileURLWithPath: output)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let name = arch == "resnet20" ? "fmnist-resnet20" : "fmnist-smallcnn"
    let url = directory.appendingPathComponent("\(name).onnx")
    try NNExport.write(
        model,
        to: url,
        metadata: ["rkd.sample": name, "rkd.seed": "\(seed)", "rkd.test_accuracy": "\(accuracy)"]
    )
    let manifest = Manifest(
        name: name,
        architecture: arch == "resnet20"
            ? "ResNet-20 (width 16, He et al. 2016, 1x1 projection shortcuts), inputs (N,1,28,28) in [0,1], logits out"
            : "SmallCNN (conv32-pool-conv64-pool-fc128-fc10), inputs (N,1,28,28) in [0,1], logits out",
        dataset: "fashion-mnist (Debian dataset-fashion-mnist)",
        trainExamples: train.count,
        testExamples: test.count,
        epochs: epochs,
        batchSize: batchSize,
        optimizer: "SGD momentum 0.9, weight decay 5e-4, cosine learning rate from 0.05",
        seed: seed,
        testAccuracy: accuracy,
        trainingSeconds: seconds,
        command:
            "swift run -c release SampleModels --arch \(arch) --output \(output) --epochs \(epochs) --seed \(seed)",
        sha256: try sha256Hex(url)
    )
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try encoder.encode(manifest).write(to: directory.appendingPathComponent("\(name).json"))
} catch {
    FileHandle.standardError.write(Data("SampleModels: \(error)\n".utf8))
    exit(1)
}
