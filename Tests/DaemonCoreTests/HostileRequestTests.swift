import DaemonAPI
import Foundation
import GRPCCore
import Jobs
import NPY
import ONNXInterop
import TensorEngine
import Testing

/// No request crashes the daemon: mutated and hand-made hostile models go through the running rkdd's
/// InspectModel, Predict and SubmitAudit; every call gets an answer (a result or a status) and the
/// daemon stays up.
@Suite("Hostile requests against a running rkdd", .serialized)
struct HostileRequestTests {
    static let corpus = [
        "pytorch-converted/test_Conv2d", "pytorch-converted/test_Linear", "pytorch-converted/test_MaxPool2d",
        "pytorch-converted/test_BatchNorm2d_eval", "pytorch-converted/test_Softmax",
        "pytorch-converted/test_PReLU_2d_multiparam",
        "pytorch-operator/test_operator_view", "pytorch-operator/test_operator_flatten",
        "pytorch-operator/test_operator_pad",
        "node/test_reshape_negative_dim", "node/test_expand_dim_changed", "node/test_slice", "node/test_gather_0",
        "node/test_gemm_default_matrix_bias", "node/test_conv_with_strides_padding", "node/test_if",
    ]

    /// A seeded mutation of a model: flipped bytes, a truncation, a duplicated or dropped byte range.
    static func mutate(_ bytes: [UInt8], _ random: inout RandomGenerator) -> [UInt8] {
        var out = bytes
        switch random.nextInt(below: 5) {
        case 0:
            for _ in 0..<(1 + random.nextInt(below: 4)) where !out.isEmpty {
                out[random.nextInt(below: out.count)] ^= UInt8(truncatingIfNeeded: 1 << random.nextInt(below: 8))
            }
        case 1:
            for _ in 0..<(1 + random.nextInt(below: 3)) where !out.isEmpty {
                out[random.nextInt(below: out.count)] = [0x00, 0xFF, 0x7F, 0x80][random.nextInt(below: 4)]
            }
        case 2:
            out = Array(out.prefix(random.nextInt(below: max(out.count, 1))))
        case 3:
            let start = random.nextInt(below: max(out.count, 1))
            let end = min(out.count, start + 1 + random.nextInt(below: 64))
            out.insert(contentsOf: out[start..<end], at: start)
        default:
            let start = random.nextInt(below: max(out.count, 1))
            let end = min(out.count, start + 1 + random.nextInt(below: 16))
            out.removeSubrange(start..<end)
        }
        return out
    }

    @Test func mutatedModelsNeverTakeTheDaemonDown() async throws {
        let daemon = try DaemonProcess()
        let cases = Int(ProcessInfo.processInfo.environment["RKD_DAEMON_FUZZ_CASES"] ?? "") ?? 400
        var random = RandomGenerator(seed: 20_261_202)
        let seeds = try Self.corpus.map { [UInt8](try testData("\($0)/model.onnx")) }
        var answered = 0
        var audits: [String] = []
        try await daemon.withClient { client in
            for index in 0..<cases {
                let seed = seeds[index % seeds.count]
                let bytes = Data(Self.mutate(seed, &random))
                guard let digest = try? await uploadModelBytes(client, bytes) else { continue }
                var inspect = Rkd_V1_InspectModelRequest()
                inspect.modelDigest = digest
                let info = try? await client.inspectModel(inspect)
                // Predict on a small batch of the declared input shape (symbols as 1, capped sizes).
                var shape = info?.inputs.first?.shape.map { Int(min(max($0.size, 1), 32)) } ?? [1, 1]
                if shape.isEmpty { shape = [1] }
                let count = shape.reduce(1, *)
                var predict = Rkd_V1_PredictRequest()
                predict.modelDigest = digest
                predict.npy = try NPYArray(
                    shape: shape,
                    elements: .float32((0..<count).map { _ in random.nextUniform() })
                )
                .npyData()
                predict.labels = [0]
                predict.inputGradient = random.nextInt(below: 2) == 0
                _ = try? await client.predict(predict)
                answered += 1
                if index % 25 == 0 {
                    var request = Rkd_V1_SubmitAuditRequest()
                    request.modelDigest = digest
                    var spec = Rkd_V1_AuditSpec()
                    var fgsm = Rkd_V1_AttackConfig()
                    fgsm.attack = .fgsm
                    spec.attacks = [fgsm]
                    spec.epsilons = [0.1]
                    spec.numExamples = 2
                    request.spec = spec
                    if let job = try? await client.submitAudit(request) { audits.append(job.id) }
                }
            }
            // Every audit of a mutated model ends (mostly failing with a reason); none is left running.
            for id in audits {
                let job = try await waitForJob(client, id, seconds: 60) { $0.state.isFinal }
                if job.state == .failed { #expect(!job.error.message.isEmpty) }
            }
            let version = try await client.getVersion(Rkd_V1_GetVersionRequest())
            #expect(version.apiVersion == "rkd.v1")
        }
        #expect(answered > cases / 2)
        #expect(!audits.isEmpty)
        #expect(daemon.process.isRunning, "rkdd died; log:\n\(daemon.logText)")
        #expect(daemon.stop() == 0)
    }

    /// The hand-made hostile models of scripts/hostile_models.py (declared sizes past any memory,
    /// cycles, overflowing shape arithmetic, zero strides, out-of-range indices, opsets and IR versions
    /// from the future, deep subgraphs, a 5000-node chain stored backwards, no outputs, two data fields,
    /// bytes that are not ONNX): each upload, inspection and prediction is answered, and rkdd stays up.
    @Test func handMadeHostileModelsAreAnsweredAndTheDaemonStaysUp() async throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let python = repository.appendingPathComponent(".venv/bin/python")
        try #require(
            FileManager.default.isExecutableFile(atPath: python.path),
            "\(python.path) is missing: run scripts/bootstrap --python (make test does)"
        )
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let corpus = directory.url.appendingPathComponent("hostile")
        let generator = Process()
        generator.executableURL = python
        generator.arguments = [repository.appendingPathComponent("scripts/hostile_models.py").path, corpus.path]
        generator.standardOutput = FileHandle.nullDevice
        try generator.run()
        generator.waitUntilExit()
        #expect(generator.terminationStatus == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        #expect(files.count >= 20)
        let daemon = try DaemonProcess()
        var refused = 0
        var runnable: [String] = []
        try await daemon.withClient { client in
            for file in files {
                let bytes = try Data(contentsOf: corpus.appendingPathComponent(file))
                let digest = try await uploadModelBytes(client, bytes, filename: file)
                var inspect = Rkd_V1_InspectModelRequest()
                inspect.modelDigest = digest
                do {
                    let info = try await client.inspectModel(inspect)
                    if !info.fullySupported { refused += 1 } else { runnable.append(file) }
                } catch is RPCError {
                    refused += 1
                }
                var predict = Rkd_V1_PredictRequest()
                predict.modelDigest = digest
                predict.npy = try NPYArray(shape: [1, 3, 8, 8], elements: .float32(Array(repeating: 0.5, count: 192)))
                    .npyData()
                _ = try? await client.predict(predict)
            }
            let version = try await client.getVersion(Rkd_V1_GetVersionRequest())
            #expect(version.apiVersion == "rkd.v1")
        }
        // Every one of them is refused or reported as not runnable, but the chain: a 5000-node chain stored
        // backwards is a genuine model, sorted and run.
        #expect(runnable == ["chain_stored_backwards.onnx"], "runnable: \(runnable)")
        #expect(refused == files.count - 1, "\(refused) of \(files.count) refused")
        #expect(daemon.process.isRunning, "rkdd died; log:\n\(daemon.logText)")
        #expect(daemon.stop() == 0)
    }
}
