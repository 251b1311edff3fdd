import Attacks
import DaemonAPI
import Datasets
import Foundation
import GRPCCore
import Jobs
import NN
import ONNXInterop
import SwiftProtobuf
import TensorEngine
import Testing
import Training

/// A teacher for the quadrant task: a small CNN trained a few epochs (PGD-AT, in-process), exported and
/// imported into the daemon's store with its threat model.
func importQuadrantTeacher(_ client: Rkd_V1_Daemon.Client<some ClientTransport>, data: QuadrantData) async throws {
    let catalog = try DatasetCatalog(sources: [.mnist(name: "quadrants", directory: data.directory.path)])
    let train = try catalog.load("quadrants", split: .train)
    let teacher = SmallCNN(inputChannels: 1, height: 28, width: 28, classes: 10, seed: 21)
    var trainer = Trainer(
        inputs: train.images,
        labels: train.labels,
        exampleShape: [1, 28, 28],
        epochs: 3,
        batchSize: 32,
        learningRate: 0.05,
        seed: 4,
        adversarial: AdversarialTraining(.linf, epsilon: 0.1, steps: 2)
    )
    trainer.checkpointEvery = 0
    try await trainer.run(model: teacher)
    let digest = try await uploadModelBytes(client, try NNExport.exportedModel(teacher), filename: "teacher.onnx")
    _ = try await client.importTeacher(
        .with {
            $0.name = "quad-teacher"
            $0.modelDigest = digest
            $0.manifest = .with {
                $0.dataset = "quadrants"
                $0.inputShape = [1, 28, 28]
                $0.inputMin = 0
                $0.inputMax = 1
                $0.classNames = (0..<10).map(String.init)
                $0.norm = .linf
                $0.epsilon = 0.1
            }
        }
    )
}

/// A hardening request on the quadrant data.
func hardenRequest(
    digest: String,
    epochs: UInt32,
    audit: Bool,
    jacobian: Rkd_V1_JacobianMode = .exact
)
    -> Rkd_V1_SubmitHardenRequest
{
    .with {
        $0.modelDigest = digest
        $0.spec = .with {
            $0.teacher = "quad-teacher"
            $0.method = .robustKd
            $0.jacobian = jacobian
            $0.data = .with { $0.name = "quadrants" }
            $0.schedule = .with {
                $0.epochs = epochs
                $0.batchSize = 32
                $0.learningRate = 0.02
                $0.seed = 8
                $0.checkpointEvery = 3
            }
            if audit {
                $0.audit = .with {
                    $0.attacks = [.with { $0.attack = .fgsm }, .with { $0.attack = .pgd }]
                    $0.epsilons = [0.1]
                    $0.data = .with { $0.name = "quadrants" }
                    $0.numExamples = 32
                    $0.seed = 3
                }
            } else {
                $0.auditLevel = .none
            }
        }
    }
}

/// The initializer names of an ONNX file.
func initializerNames(_ bytes: Data) throws -> [String] {
    try ONNXModel(serialized: bytes).initializerNames
}

@Suite("Hardening jobs in rkdd", .serialized)
struct HardenJobTests {
    /// SubmitHarden → audit before, Robust-KD into a ResNet-20 (another architecture than the small-CNN
    /// teacher: adapters), export, audit after; the hardened file keeps the graph and initializer names
    /// (no adapter in it), records the method, and onnxruntime gives the engine's outputs on it.
    @Test func hardenEndToEnd() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = try QuadrantData(in: directory.url, train: 128, test: 64, seed: 5)
        let daemon = try DaemonProcess(settings: data.settings, directory: directory.url)
        let student = try NNExport.exportedModel(ResNet20(inputChannels: 1, imageSize: 28, width: 4, seed: 6))
        try await daemon.withClient { client in
            try await importQuadrantTeacher(client, data: data)
            let digest = try await uploadModelBytes(client, student, filename: "student.onnx")
            let job = try await client.submitHarden(hardenRequest(digest: digest, epochs: 2, audit: true))
            let finished = try await waitForJob(client, job.id, seconds: 600) { $0.state.isFinal }
            #expect(finished.state == .succeeded, "\(finished.error) \(daemon.logText.suffix(3000))")
            let names = Set(finished.artifacts.map(\.name))
            #expect(
                names.isSuperset(of: [
                    "hardened.onnx", "harden.json", "report.json", "report.md", "report.html", "report-before.json",
                    "report-after.json",
                ]),
                "\(names)"
            )
            let hardened = try await downloadArtifact(client, job.id, "hardened.onnx")
            #expect(try initializerNames(hardened) == initializerNames(student), "only the model's initializers")
            #expect(hardened != student, "the weights changed")
            let model = try ONNXModel(serialized: hardened)
            #expect(model.nodeCount == (try ONNXModel(serialized: student)).nodeCount)
            #expect(model.metadata["rkd.method"] == "robust-kd" && model.metadata["rkd.teacher"] == "quad-teacher")
            #expect(model.metadata["rkd.robust_kd"]?.contains("layers=") == true)

            let summary = try #require(
                try JSONSerialization.jsonObject(with: try await downloadArtifact(client, job.id, "harden.json"))
                    as? [String: Any]
            )
            #expect(summary["schema"] as? String == "rkd.harden/1")
            let rows = try #require(summary["rows"] as? [[String: Any]])
            #expect(rows.map { $0["attack"] as? String } == ["clean", "fgsm", "pgd", "worst case"])
            let markdown = String(decoding: try await downloadArtifact(client, job.id, "report.md"), as: UTF8.self)
            #expect(markdown.contains("| attack | ε | before | after | change |"))

            // Paired through adapters at the default α and β: the job's log says what to try instead.
            let lines = try await client.watchJob(.with { $0.jobID = job.id }) { response in
                var lines: [Rkd_V1_LogLine] = []
                for try await event in response.messages {
                    if case .log(let line) = event.event { lines.append(line) }
                }
                return lines
            }
            #expect(
                lines.contains {
                    $0.level == .warning && $0.message.contains("adapters") && $0.message.contains("--beta")
                },
                "\(lines.map(\.message))"
            )

            // onnxruntime runs the hardened model with the engine's outputs.
            var rng = RandomGenerator(seed: 1)
            let x = Tensor.uniform([3, 1, 28, 28], using: &rng)
            let graph = try ImportedGraph(model)
            let engine = try graph.run([graph.inputNames[0]: x])[graph.outputNames[0]]!
            let reference = try onnxRuntimeOutput(hardened, input: x, inputName: graph.inputNames[0])
            // Relative to the largest logit: the two sum in different orders (AVX2 or AVX-512 here).
            let difference = zip(engine.scalars, reference).map { abs($0 - $1) }.max() ?? 1
            let scale = max(1, reference.map(abs).max() ?? 1)
            #expect(difference <= 1e-5 * scale, "engine vs onnxruntime: \(difference), largest logit \(scale)")
        }
        #expect(daemon.stop() == 0)
    }

    /// `kill -9` during training: the job resumes from its checkpoint and the hardened file equals that
    /// of an uninterrupted job, byte for byte (finite-difference mode here; exact mode in the test above).
    @Test func killedHardenJobResumesToTheSameWeights() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = try QuadrantData(in: directory.url, train: 192, test: 32, seed: 6)
        let student = try NNExport.exportedModel(SmallCNN(inputChannels: 1, height: 28, width: 28, seed: 9))
        let first = try DaemonProcess(settings: data.settings, directory: directory.url)
        let (digest, interrupted) = try await first.withClient { client in
            try await importQuadrantTeacher(client, data: data)
            let digest = try await uploadModelBytes(client, student, filename: "student.onnx")
            let job = try await client.submitHarden(
                hardenRequest(digest: digest, epochs: 12, audit: false, jacobian: .finiteDifference)
            )
            _ = try await waitForJob(client, job.id, seconds: 300) {
                $0.state == .running && $0.progress.total > 0 && $0.progress.done * 3 >= $0.progress.total
            }
            return (digest, job.id)
        }
        first.kill()
        let second = try DaemonProcess(settings: data.settings, directory: directory.url)
        try await second.withClient { client in
            let resumed = try await waitForJob(client, interrupted, seconds: 600) { $0.state.isFinal }
            #expect(resumed.state == .succeeded && resumed.attempt == 2, "\(resumed.state) \(resumed.error)")
            let reference = try await client.submitHarden(
                hardenRequest(digest: digest, epochs: 12, audit: false, jacobian: .finiteDifference)
            )
            let whole = try await waitForJob(client, reference.id, seconds: 600) { $0.state.isFinal }
            #expect(whole.state == .succeeded, "\(whole.error)")
            let a = try await downloadArtifact(client, interrupted, "hardened.onnx")
            let b = try await downloadArtifact(client, reference.id, "hardened.onnx")
            #expect(a == b, "the resumed job's model differs from the uninterrupted one's")
        }
        #expect(second.stop(within: 20) == 0)
    }

    /// A run whose loss stops being finite (here: fine-tuning at a learning rate of 1e30) fails at that
    /// step, in its first epoch, with a code of its own and a message that says what to lower, instead
    /// of training on through NaN weights and failing only at the export.
    @Test func divergingTrainingFailsAtTheStepWithAClearError() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = try QuadrantData(in: directory.url, train: 128, test: 32, seed: 7)
        let daemon = try DaemonProcess(settings: data.settings, directory: directory.url)
        let student = try NNExport.exportedModel(SmallCNN(inputChannels: 1, height: 28, width: 28, seed: 3))
        try await daemon.withClient { client in
            let digest = try await uploadModelBytes(client, student, filename: "student.onnx")
            let job = try await client.submitHarden(
                .with {
                    $0.modelDigest = digest
                    $0.spec = .with {
                        $0.method = .finetune
                        $0.data = .with { $0.name = "quadrants" }
                        $0.schedule = .with {
                            $0.epochs = 3
                            $0.batchSize = 32
                            $0.learningRate = 1e30
                            $0.seed = 2
                        }
                        $0.auditLevel = .none
                    }
                }
            )
            let failed = try await waitForJob(client, job.id, seconds: 120) { $0.state.isFinal }
            #expect(failed.state == .failed, "\(failed.state)")
            #expect(failed.error.code == "training-diverged", "\(failed.error)")
            #expect(failed.error.message.contains("(epoch 1,"), "\(failed.error.message)")
            #expect(
                failed.error.message.contains("Lower the learning rate (--learning-rate)"),
                "\(failed.error.message)"
            )
        }
        #expect(daemon.stop() == 0)
    }

    /// Refused at submit: an unknown teacher (NOT_FOUND), a teacher of another input shape, a data set
    /// of another shape than the model (INVALID_ARGUMENT).
    @Test func teachersAndDataThatDoNotFitAreRefusedAtSubmit() async throws {
        let daemon = try DaemonProcess()
        try await daemon.withClient { client in
            let model = try await uploadModelBytes(client, try sampleModel(), filename: "fmnist-smallcnn.onnx")
            var request = Rkd_V1_SubmitHardenRequest.with {
                $0.modelDigest = model
                $0.spec = .with { $0.teacher = "nobody" }
            }
            let unknown = await #expect(throws: RPCError.self) { _ = try await client.submitHarden(request) }
            #expect(unknown?.code == .notFound, "\(unknown?.message ?? "")")

            let colour = try NNExport.exportedModel(SmallCNN(inputChannels: 3, height: 32, width: 32, seed: 2))
            let colourDigest = try await uploadModelBytes(client, colour, filename: "colour.onnx")
            _ = try await client.importTeacher(
                .with {
                    $0.name = "colour"
                    $0.modelDigest = colourDigest
                    $0.manifest = .with {
                        $0.dataset = "cifar-10"
                        $0.inputShape = [3, 32, 32]
                        $0.inputMin = 0
                        $0.inputMax = 1
                        $0.classNames = (0..<10).map(String.init)
                        $0.norm = .linf
                        $0.epsilon = 0.03
                    }
                }
            )
            request.spec.teacher = "colour"
            let shape = await #expect(throws: RPCError.self) { _ = try await client.submitHarden(request) }
            #expect(shape?.code == .invalidArgument && shape?.message.contains("[3, 32, 32]") == true)

            request.modelDigest = colourDigest
            let data = await #expect(throws: RPCError.self) { _ = try await client.submitHarden(request) }
            #expect(data?.code == .invalidArgument && data?.message.contains("fashion-mnist") == true)
        }
        #expect(daemon.stop() == 0)
    }
}

/// A job artifact's bytes.
func downloadArtifact(
    _ client: Rkd_V1_Daemon.Client<some ClientTransport>,
    _ job: String,
    _ name: String
)
    async throws -> Data
{
    try await client.downloadArtifact(
        .with {
            $0.jobID = job
            $0.name = name
        }
    ) { response in
        try await collectDownload(response).data
    }
}

/// The first output of an ONNX model run by onnxruntime (the project venv) on one float input.
func onnxRuntimeOutput(_ model: Data, input: Tensor, inputName: String) throws -> [Float] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rkd-ort-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let modelURL = directory.appendingPathComponent("model.onnx")
    try model.write(to: modelURL)
    let inputURL = directory.appendingPathComponent("input.bin")
    try Data(input.scalars.withUnsafeBufferPointer { Data(buffer: $0) }).write(to: inputURL)
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let python = root.appendingPathComponent(".venv/bin/python")
    guard FileManager.default.isExecutableFile(atPath: python.path) else {
        throw DaemonHarnessError("\(python.path) is missing: run scripts/bootstrap --python (make test does)")
    }
    let script = """
        import sys, numpy as np, onnxruntime as ort
        x = np.fromfile(sys.argv[2], dtype=np.float32).reshape([\(input.shape.map(String.init).joined(separator: ","))])
        s = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
        y = s.run(None, {"\(inputName)": x})[0]
        sys.stdout.write(" ".join(repr(float(v)) for v in y.ravel()))
        """
    let process = Process()
    process.executableURL = python
    process.arguments = ["-c", script, modelURL.path, inputURL.path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw DaemonHarnessError("onnxruntime failed on the hardened model") }
    return text.split(separator: " ").compactMap { Float(String($0)) }
}
