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

/// A tiny IDX data set in MNIST's layout: 28×28 grey images whose class (0–3) is the quadrant holding a
/// bright 8×8 patch, over noise; labels of classes 4–9 never occur.
struct QuadrantData {
    let directory: URL

    init(in parent: URL, train: Int, test: Int, seed: UInt64) throws {
        directory = parent.appendingPathComponent("quadrants")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var random = RandomGenerator(seed: seed)
        for (prefix, count) in [("train", train), ("t10k", test)] {
            var images = Data([0, 0, 8, 3])
            var labels = Data([0, 0, 8, 1])
            for value in [count, 28, 28] { images.append(contentsOf: Self.bigEndian(value)) }
            labels.append(contentsOf: Self.bigEndian(count))
            for _ in 0..<count {
                let label = random.nextInt(below: 4)
                let (top, left) = (label / 2 * 14 + 3, label % 2 * 14 + 3)
                for y in 0..<28 {
                    for x in 0..<28 {
                        let inPatch = (top..<top + 8).contains(y) && (left..<left + 8).contains(x)
                        let noise = random.nextInt(below: 60)
                        images.append(UInt8(inPatch ? 150 + noise : noise))
                    }
                }
                labels.append(UInt8(label))
            }
            try images.write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try labels.write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }

    static func bigEndian(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

    var settings: [String: Any] { ["datasets": [["name": "quadrants", "format": "idx", "directory": directory.path]]] }
}

/// A teacher-training request on the quadrant data: a small CNN, classes 0–3 (a 4-way teacher).
func teacherRequest(name: String, epochs: UInt32, checkpointEvery: UInt32 = 4) -> Rkd_V1_SubmitTeacherTrainingRequest {
    .with {
        $0.spec = .with {
            $0.name = name
            $0.architecture = .smallCnn
            $0.data = .with {
                $0.name = "quadrants"
                $0.classes = [0, 1, 2, 3]
            }
            $0.adversarial = .with {
                $0.norm = .linf
                $0.epsilon = 0.1
                $0.steps = 2
            }
            $0.schedule = .with {
                $0.epochs = epochs
                $0.batchSize = 32
                $0.learningRate = 0.05
                $0.seed = 3
                $0.checkpointEvery = checkpointEvery
            }
            $0.evalExamples = 8
        }
    }
}

/// The ONNX bytes of a stored teacher (DownloadTeacher).
func downloadTeacher(
    _ client: Rkd_V1_Daemon.Client<some ClientTransport>,
    _ name: String,
    file: String = ""
)
    async throws -> (Data, Rkd_V1_Artifact)
{
    try await client.downloadTeacher(
        .with {
            $0.name = name
            $0.file = file
        }
    ) { response in
        try await collectDownload(response)
    }
}

/// The bytes and the announced artifact of a DownloadArtifact or DownloadTeacher stream.
func collectDownload(
    _ response: StreamingClientResponse<Rkd_V1_DownloadArtifactResponse>
) async throws -> (data: Data, artifact: Rkd_V1_Artifact) {
    var data = Data()
    var artifact = Rkd_V1_Artifact()
    for try await message in response.messages {
        switch message.content {
        case .info(let header): artifact = header.artifact
        case .chunk(let chunk): data.append(chunk)
        case nil: break
        }
    }
    return (data, artifact)
}

@Suite("Teacher jobs and the teacher store in rkdd", .serialized)
struct TeacherJobTests {
    /// SubmitTeacherTraining → trained, audited, stored; ListTeachers and DownloadTeacher show it; the
    /// name is then refused at submit; RemoveTeacher deletes it.
    @Test func teacherTrainingEndToEnd() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = try QuadrantData(in: directory.url, train: 192, test: 64, seed: 1)
        let daemon = try DaemonProcess(settings: data.settings, directory: directory.url)
        try await daemon.withClient { client in
            let job = try await client.submitTeacherTraining(teacherRequest(name: "quad", epochs: 4))
            let finished = try await waitForJob(client, job.id, seconds: 300) { $0.state.isFinal }
            #expect(finished.state == .succeeded, "\(finished.error) \(daemon.logText.suffix(2000))")
            #expect(
                Set(finished.artifacts.map(\.name))
                    == ["teacher.onnx", "manifest.json", "report.json", "report.md", "report.html"]
            )
            let teachers = try await client.listTeachers(.init()).teachers
            let teacher = try #require(teachers.first { $0.name == "quad" })
            #expect(teacher.source == .trained && teacher.jobID == job.id)
            let manifest = teacher.manifest
            #expect(manifest.dataset == "quadrants" && manifest.datasetClasses == [0, 1, 2, 3])
            #expect(manifest.classNames == ["0", "1", "2", "3"] && manifest.inputShape == [1, 28, 28])
            #expect(manifest.norm == .linf && manifest.epsilon == 0.1 && manifest.evalExamples == 8)
            #expect(manifest.validationAccuracy.count == 4 && manifest.trainingSeconds > 0)
            #expect(manifest.hasPgdAccuracy && manifest.hasAutoattackAccuracy)
            #expect(manifest.robustAccuracy == manifest.autoattackAccuracy)
            #expect(manifest.autoattackAccuracy <= manifest.pgdAccuracy + 1e-9)
            #expect(manifest.cleanAccuracy > 0.9, "the quadrant task is easy: \(manifest.cleanAccuracy)")

            // The file matches the digest, runs in the engine and has four outputs.
            let (bytes, info) = try await downloadTeacher(client, "quad")
            #expect(SHA256.hash(bytes).hex == teacher.modelDigest && info.sha256 == teacher.modelDigest)
            let graph = try ImportedGraph(try ONNXModel(serialized: bytes))
            let logits = try graph.run([graph.inputNames[0]: Tensor(zeros: [2, 1, 28, 28])])
            #expect(logits[graph.outputNames[0]]?.shape == [2, 4])
            let (manifestBytes, _) = try await downloadTeacher(client, "quad", file: "manifest.json")
            let stored = try TeacherManifest.decode(manifestBytes, what: "downloaded")
            #expect(stored.sha256 == teacher.modelDigest && stored.source == .trained)

            // The name is taken now.
            let taken = await #expect(throws: RPCError.self) {
                _ = try await client.submitTeacherTraining(teacherRequest(name: "quad", epochs: 1))
            }
            #expect(taken?.code == .alreadyExists)

            _ = try await client.removeTeacher(.with { $0.name = "quad" })
            #expect(try await client.listTeachers(.init()).teachers.isEmpty)
            let gone = await #expect(throws: RPCError.self) { _ = try await downloadTeacher(client, "quad") }
            #expect(gone?.code == .notFound)
        }
        #expect(daemon.stop() == 0)
    }

    /// `kill -9` in the middle of training: after the restart the job resumes from its checkpoint and
    /// the teacher's ONNX file is byte for byte that of an uninterrupted job with the same seed.
    @Test func killedTeacherTrainingResumesToTheSameWeights() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = try QuadrantData(in: directory.url, train: 192, test: 64, seed: 2)
        let first = try DaemonProcess(settings: data.settings, directory: directory.url)
        let interrupted = try await first.withClient { client in
            let job = try await client.submitTeacherTraining(teacherRequest(name: "killed", epochs: 6))
            _ = try await waitForJob(client, job.id, seconds: 120) {
                $0.state == .running && $0.progress.total > 0 && $0.progress.done * 3 >= $0.progress.total
            }
            return job.id
        }
        first.kill()

        let second = try DaemonProcess(settings: data.settings, directory: directory.url)
        try await second.withClient { client in
            let resumed = try await waitForJob(client, interrupted, seconds: 300) { $0.state.isFinal }
            #expect(resumed.state == .succeeded && resumed.attempt == 2, "\(resumed.state) \(resumed.error)")
            let reference = try await client.submitTeacherTraining(teacherRequest(name: "whole", epochs: 6))
            let whole = try await waitForJob(client, reference.id, seconds: 300) { $0.state.isFinal }
            #expect(whole.state == .succeeded, "\(whole.error)")
            let (a, _) = try await downloadTeacher(client, "killed")
            let (b, _) = try await downloadTeacher(client, "whole")
            #expect(a == b, "the resumed teacher differs from the uninterrupted one")
            let teachers = try await client.listTeachers(.init()).teachers
            let accuracies = teachers.map(\.manifest.validationAccuracy)
            #expect(accuracies.count == 2 && accuracies[0] == accuracies[1])
        }
        #expect(second.stop(within: 20) == 0)
    }

    /// CancelJob stops a teacher-training job within a second even when one training step takes
    /// several (batch 256, 40 PGD iterations: the stop is checked before every pass of the crafting),
    /// and leaves no checkpoint and no teacher.
    @Test func cancellingTeacherTrainingTakesLessThanASecond() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = try QuadrantData(in: directory.url, train: 512, test: 32, seed: 4)
        let daemon = try DaemonProcess(settings: data.settings, directory: directory.url)
        try await daemon.withClient { client in
            var request = teacherRequest(name: "cancelled", epochs: 20)
            request.spec.schedule.batchSize = 256
            request.spec.adversarial.steps = 40
            let job = try await client.submitTeacherTraining(request)
            let clock = ContinuousClock()
            _ = try await waitForJob(client, job.id, seconds: 120) { $0.state == .running }
            let started = clock.now
            _ = try await waitForJob(client, job.id, seconds: 300) { $0.progress.done > 0 }
            let oneStep = clock.now - started
            let start = clock.now
            _ = try await client.cancelJob(.with { $0.jobID = job.id })
            let cancelled = try await waitForJob(client, job.id, seconds: 30) { $0.state.isFinal }
            let elapsed = clock.now - start
            #expect(cancelled.state == .cancelled)
            #expect(elapsed < .seconds(1), "cancellation took \(elapsed); the first step took \(oneStep)")
            #expect(try await client.listTeachers(.init()).teachers.isEmpty)
            #expect(!hasCheckpoints(stateDirectory: daemon.stateDirectory, jobID: job.id))
        }
        #expect(daemon.stop() == 0)
    }

    /// Teacher training whose loss stops being finite (a learning rate of 1e30) fails at that step with
    /// `training-diverged` and says to lower the learning rate; nothing is stored.
    @Test func divergingTeacherTrainingFailsWithAClearError() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = try QuadrantData(in: directory.url, train: 64, test: 32, seed: 8)
        let daemon = try DaemonProcess(settings: data.settings, directory: directory.url)
        try await daemon.withClient { client in
            var request = teacherRequest(name: "diverging", epochs: 2)
            request.spec.schedule.learningRate = 1e30
            let job = try await client.submitTeacherTraining(request)
            let failed = try await waitForJob(client, job.id, seconds: 120) { $0.state.isFinal }
            #expect(failed.state == .failed, "\(failed.state)")
            #expect(failed.error.code == "training-diverged", "\(failed.error)")
            #expect(failed.error.message.contains("Lower the learning rate"), "\(failed.error.message)")
            let listed = try await client.listTeachers(.init())
            #expect(!listed.teachers.contains { $0.name == "diverging" })
        }
        #expect(daemon.stop() == 0)
    }

    /// `trades_beta` makes the job train with TRADES and step milestones with a step schedule; the
    /// manifest's recipe says so.
    @Test func tradesTeacherRecordsItsRecipe() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = try QuadrantData(in: directory.url, train: 64, test: 32, seed: 3)
        let daemon = try DaemonProcess(settings: data.settings, directory: directory.url)
        try await daemon.withClient { client in
            var request = teacherRequest(name: "trades", epochs: 2)
            request.spec.adversarial.tradesBeta = 6
            request.spec.schedule.stepMilestones = [1]
            request.spec.schedule.stepGamma = 0.5
            let job = try await client.submitTeacherTraining(request)
            let finished = try await waitForJob(client, job.id, seconds: 300) { $0.state.isFinal }
            #expect(finished.state == .succeeded, "\(finished.error)")
            #expect(finished.teacherTraining.adversarial.tradesBeta == 6)
            let teacher = try #require(try await client.listTeachers(.init()).teachers.first)
            #expect(teacher.manifest.recipe.contains("TRADES β=6.0"), "\(teacher.manifest.recipe)")
            let (bytes, _) = try await downloadTeacher(client, "trades", file: "manifest.json")
            let manifest = try TeacherManifest.decode(bytes, what: "downloaded")
            #expect(manifest.training?.method == "trades" && manifest.training?.tradesBeta == 6)
            #expect(manifest.training?.learningRateDecay == "step ×0.5 at epoch 1")
            #expect(teacher.manifest.recipe.contains("step ×0.5 at epoch 1"), "\(teacher.manifest.recipe)")
        }
        #expect(daemon.stop() == 0)
    }

    /// A class subset is numbered 0..<k in the order given wherever a k-way model meets it: a 2-way
    /// teacher trained on classes 3 and 2 is audited at the end of its job, audited again by an audit
    /// job and fine-tuned by a hardening job on the same selection (each of which refused the labels 2
    /// and 3 of a 2-output model before), and the audits agree on its clean accuracy.
    @Test func classSubsetsAreNumberedInTheOrderGiven() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = try QuadrantData(in: directory.url, train: 96, test: 32, seed: 4)
        let daemon = try DaemonProcess(settings: data.settings, directory: directory.url)
        try await daemon.withClient { client in
            var request = teacherRequest(name: "pair", epochs: 3)
            request.spec.data.classes = [3, 2]
            request.spec.evalExamples = 16
            let job = try await client.submitTeacherTraining(request)
            let trained = try await waitForJob(client, job.id, seconds: 300) { $0.state.isFinal }
            #expect(trained.state == .succeeded, "\(trained.error) \(daemon.logText.suffix(2000))")
            let teacher = try #require(try await client.listTeachers(.init()).teachers.first)
            #expect(teacher.manifest.classNames == ["3", "2"])
            let clean = teacher.manifest.cleanAccuracy
            #expect(clean >= 0.75, "a 2-way quadrant task after 3 epochs: \(clean)")

            let (model, _) = try await downloadTeacher(client, "pair")
            let digest = try await uploadModelBytes(client, model, filename: "pair.onnx")
            let selection = Rkd_V1_DatasetSelection.with {
                $0.name = "quadrants"
                $0.classes = [3, 2]
            }
            let audit = try await client.submitAudit(
                .with {
                    $0.modelDigest = digest
                    $0.spec = .with {
                        $0.attacks = [.with { $0.attack = .fgsm }]
                        $0.epsilons = [0.1]
                        $0.data = selection
                        $0.numExamples = 16
                    }
                }
            )
            let audited = try await waitForJob(client, audit.id, seconds: 120) { $0.state.isFinal }
            #expect(audited.state == .succeeded, "\(audited.error)")
            let report = try #require(
                try JSONSerialization.jsonObject(with: try await downloadArtifact(client, audit.id, "report.json"))
                    as? [String: Any]
            )
            #expect((report["cleanAccuracy"] as? Double).map { abs($0 - Double(clean)) < 1e-6 } == true, "\(report)")

            let harden = try await client.submitHarden(
                .with {
                    $0.modelDigest = digest
                    $0.spec = .with {
                        $0.method = .finetune
                        $0.data = selection
                        $0.schedule = .with {
                            $0.epochs = 1
                            $0.batchSize = 32
                            $0.seed = 2
                        }
                        $0.auditLevel = .none
                    }
                }
            )
            let hardened = try await waitForJob(client, harden.id, seconds: 120) { $0.state.isFinal }
            #expect(hardened.state == .succeeded, "\(hardened.error)")
        }
        #expect(daemon.stop() == 0)
    }

    /// ImportTeacher checks what a teacher states against the model: a missing threat model, a wrong
    /// input shape or a wrong class count is refused with INVALID_ARGUMENT; a good one is stored.
    @Test func importChecksTheTeacher() async throws {
        let daemon = try DaemonProcess()
        try await daemon.withClient { client in
            let digest = try await uploadModelBytes(client, try sampleModel(), filename: "fmnist-smallcnn.onnx")
            func request(_ change: (inout Rkd_V1_TeacherManifest) -> Void) -> Rkd_V1_ImportTeacherRequest {
                .with {
                    $0.name = "imported"
                    $0.modelDigest = digest
                    $0.manifest = .with {
                        $0.dataset = "fashion-mnist"
                        $0.inputShape = [1, 28, 28]
                        $0.inputMin = 0
                        $0.inputMax = 1
                        $0.classNames = (0..<10).map { "c\($0)" }
                        $0.norm = .linf
                        $0.epsilon = 0.1
                        change(&$0)
                    }
                }
            }
            let refusals: [(String, (inout Rkd_V1_TeacherManifest) -> Void)] = [
                ("threat model", { $0.norm = .unspecified }),
                ("ε", { $0.epsilon = 0 }),
                ("input shape", { $0.inputShape = [3, 32, 32] }),
                ("outputs", { $0.classNames = ["a", "b", "c"] }),
                ("input range", { $0.inputMax = 0 }),
            ]
            for (word, change) in refusals {
                let error = await #expect(throws: RPCError.self) { _ = try await client.importTeacher(request(change)) }
                #expect(error?.code == .invalidArgument, "\(word)")
                #expect(error?.message.contains(word) == true, "\(error?.message ?? "")")
            }
            let stored = try await client.importTeacher(request { _ in })
            #expect(stored.source == .imported && stored.modelDigest == digest)
            let again = await #expect(throws: RPCError.self) { _ = try await client.importTeacher(request { _ in }) }
            #expect(again?.code == .alreadyExists)
            var replacing = request { $0.epsilon = 0.2 }
            replacing.replace = true
            #expect(try await client.importTeacher(replacing).manifest.epsilon == 0.2)
        }
        #expect(daemon.stop() == 0)
    }

    /// A bundled teacher is stored on the first start; removed, it does not come back at the next.
    @Test func bundledTeachersAreStoredOnceOnTheFirstStart() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let bundled = directory.url.appendingPathComponent("bundled/sample-teacher")
        try FileManager.default.createDirectory(at: bundled, withIntermediateDirectories: true)
        let model = try sampleModel()
        try model.write(to: bundled.appendingPathComponent("teacher.onnx"))
        let manifest = TeacherManifest(
            name: "sample-teacher",
            dataset: "fashion-mnist",
            inputShape: [1, 28, 28],
            classNames: (0..<10).map { "c\($0)" },
            norm: .linf,
            epsilon: 0.1,
            architecture: "small-cnn",
            recipe: "test",
            sha256: SHA256.hash(model).hex,
            rkdVersion: "0.1.0",
            source: .trained,
            createdAt: Date()
        )
        try manifest.encoded().write(to: bundled.appendingPathComponent("manifest.json"))
        let settings = ["bundledTeachers": bundled.deletingLastPathComponent().path]
        let first = try DaemonProcess(settings: settings, directory: directory.url)
        try await first.withClient { client in
            let teachers = try await client.listTeachers(.init()).teachers
            #expect(teachers.map(\.name) == ["sample-teacher"] && teachers.first?.source == .bundled)
            _ = try await client.removeTeacher(.with { $0.name = "sample-teacher" })
        }
        #expect(first.stop() == 0)
        let second = try DaemonProcess(settings: settings, directory: directory.url)
        try await second.withClient { client in
            let teachers = try await client.listTeachers(.init()).teachers
            #expect(teachers.isEmpty)
        }
        #expect(second.stop() == 0)
    }
}
