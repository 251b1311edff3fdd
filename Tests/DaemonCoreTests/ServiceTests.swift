import DaemonAPI
import Foundation
import GRPCCore
import Jobs
import NN
import NPY
import ONNXInterop
import TensorEngine
import Testing

/// Uploads `bytes` in `chunk`-sized pieces, with a header.
private func upload(
    _ client: Rkd_V1_Daemon.Client<some ClientTransport>,
    _ bytes: Data,
    chunk: Int = 1 << 20,
    sha256: String = ""
) async throws -> Rkd_V1_UploadModelResponse {
    try await client.uploadModel(
        requestProducer: { writer in
            var header = Rkd_V1_UploadModelRequest()
            header.header.filename = "model.onnx"
            header.header.sizeBytes = UInt64(bytes.count)
            header.header.sha256 = sha256
            try await writer.write(header)
            var offset = 0
            while offset < bytes.count {
                var part = Rkd_V1_UploadModelRequest()
                part.chunk = bytes.subdata(in: offset..<min(offset + chunk, bytes.count))
                try await writer.write(part)
                offset += chunk
            }
        }
    )
}

private func rpcCode(_ body: () async throws -> Void) async -> RPCError.Code? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}

@Suite("rkdd over a real Unix socket", .serialized)
struct ServiceTests {
    @Test func uploadInspectPredict() async throws {
        let daemon = try DaemonProcess()
        // A linear classifier exported by PyTorch: input '0' [4, 10], 8 classes.
        let model = try testData("pytorch-converted/test_Linear/model.onnx")
        let input = try ONNXTensorFile.decode(try testData("pytorch-converted/test_Linear/test_data_set_0/input_0.pb"))
        let expected = try ONNXTensorFile.decode(
            try testData("pytorch-converted/test_Linear/test_data_set_0/output_0.pb")
        )
        try await daemon.withClient { client in
            let version = try await client.getVersion(Rkd_V1_GetVersionRequest())
            #expect(version.apiVersion == "rkd.v1")

            // Chunked upload; the digest is the file's SHA-256; the same bytes again are stored once.
            let first = try await upload(client, model, chunk: 100)
            #expect(first.digest == SHA256.hash(model).description)
            #expect(first.sizeBytes == UInt64(model.count) && !first.alreadyStored)
            let again = try await upload(client, model)
            #expect(again.digest == first.digest && again.alreadyStored)
            let stored = daemon.stateDirectory.appendingPathComponent("models/\(first.digest).onnx")
            #expect(try Data(contentsOf: stored) == model)
            // A wrong digest in the header is refused and stores nothing new.
            #expect(
                await rpcCode { _ = try await upload(client, model + Data([0]), sha256: first.digest) }
                    == .invalidArgument
            )

            var inspect = Rkd_V1_InspectModelRequest()
            inspect.modelDigest = first.digest
            let info = try await client.inspectModel(inspect)
            #expect(info.fullySupported && info.unsupportedNodes.isEmpty)
            #expect(info.operators.map(\.opType) == ["Gemm"])
            #expect(info.inputs.map(\.name) == ["0"])
            #expect(info.inputs[0].shape.map(\.size) == [4, 10])
            #expect(info.parameterCount == 8 * 10 + 8)
            #expect(info.outputKind == .logits)
            #expect(info.producerName == "pytorch")
            inspect.modelDigest = String(repeating: "0", count: 64)
            #expect(await rpcCode { _ = try await client.inspectModel(inspect) } == .notFound)
            inspect.modelDigest = "nonsense"
            #expect(await rpcCode { _ = try await client.inspectModel(inspect) } == .invalidArgument)

            // Predict through the NPY path returns ONNX's own expected output.
            var predict = Rkd_V1_PredictRequest()
            predict.modelDigest = first.digest
            predict.npy = try NPYArray(shape: input.tensor.shape, elements: .float32(input.tensor.scalars)).npyData()
            let result = try await client.predict(predict)
            #expect(result.logits.shape == [4, 8])
            #expect(result.predictions == expected.tensor.argmax(axis: 1).map { Int64($0) })
            let worst = zip(result.logits.data, expected.tensor.scalars).map { abs($0 - $1) }.max() ?? 1
            #expect(worst < 1e-4)

            // With labels: the summed cross-entropy and its input gradient.
            predict.labels = [3, 7, 0, 1]
            predict.inputGradient = true
            let withGradient = try await client.predict(predict)
            #expect(withGradient.hasLoss && withGradient.loss > 0)
            #expect(withGradient.inputGradient.shape == [4, 10])
            // Closed form for a linear model: ∂(Σ CE)/∂x = (softmax(z) − onehot(y))·W.
            let weights = try #require(
                try ImportedGraph(try ONNXModel(serialized: model)).parameters.first { $0.name == "1" }
            ).value.scalars.map(Double.init)
            let labels = [3, 7, 0, 1]
            for row in 0..<4 {
                let z = (0..<8).map { Double(withGradient.logits.data[row * 8 + $0]) }
                let top = z.max() ?? 0
                let e = z.map { Foundation.exp($0 - top) }
                let p = e.map { $0 / e.reduce(0, +) }
                for j in 0..<10 {
                    let expectedGradient = (0..<8).reduce(0.0) { sum, k in
                        sum + (p[k] - (k == labels[row] ? 1 : 0)) * weights[k * 10 + j]
                    }
                    #expect(abs(Double(withGradient.inputGradient.data[row * 10 + j]) - expectedGradient) < 1e-4)
                }
            }

            // Bad inputs are INVALID_ARGUMENT with the reason.
            predict.labels = [3, 1000, 0, 1]
            #expect(await rpcCode { _ = try await client.predict(predict) } == .invalidArgument)
            predict.labels = []
            predict.inputGradient = false
            predict.npy = try NPYArray(shape: [1, 10], elements: .float32(Array(repeating: 0, count: 10))).npyData()
            do {
                _ = try await client.predict(predict)
                Issue.record("a wrong batch size was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("[4, 10]"))
            }
            predict.npy = Data("not numpy".utf8)
            #expect(await rpcCode { _ = try await client.predict(predict) } == .invalidArgument)

            // A hardening request without a model is refused.
            #expect(
                await rpcCode { _ = try await client.submitHarden(Rkd_V1_SubmitHardenRequest()) } == .invalidArgument
            )
        }
        #expect(daemon.stop() == 0)
    }

    /// Regression: Predict on a graph that declares no outputs killed rkdd (index out of range).
    @Test func modelWithoutOutputsGetsAnErrorAndTheDaemonStaysUp() async throws {
        let daemon = try DaemonProcess()
        let proto = try Onnx_ModelProtoBytes.withoutOutputs(try testData("pytorch-converted/test_Linear/model.onnx"))
        try await daemon.withClient { client in
            let stored = try await upload(client, proto)
            var predict = Rkd_V1_PredictRequest()
            predict.modelDigest = stored.digest
            predict.npy = try NPYArray(shape: [4, 10], elements: .float32(Array(repeating: 0.5, count: 40))).npyData()
            do {
                _ = try await client.predict(predict)
                Issue.record("a model without outputs was run")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("no outputs"))
            }
            predict.labels = [0, 1, 2, 3]
            predict.inputGradient = true
            #expect(await rpcCode { _ = try await client.predict(predict) } == .invalidArgument)
            var inspect = Rkd_V1_InspectModelRequest()
            inspect.modelDigest = stored.digest
            _ = try? await client.inspectModel(inspect)
            // Still serving.
            let version = try await client.getVersion(Rkd_V1_GetVersionRequest())
            #expect(version.apiVersion == "rkd.v1")
        }
        #expect(daemon.stop() == 0)
    }

    /// Predict returns a Softmax model's own output (probabilities, as ONNX's reference output) and
    /// says so; with `logits` it returns the values rkd attacks, whose softmax is that output.
    @Test func predictReturnsTheModelsOwnOutput() async throws {
        let daemon = try DaemonProcess()
        let model = try testData("pytorch-converted/test_Softmax/model.onnx")
        let input = try ONNXTensorFile.decode(try testData("pytorch-converted/test_Softmax/test_data_set_0/input_0.pb"))
        let expected = try ONNXTensorFile.decode(
            try testData("pytorch-converted/test_Softmax/test_data_set_0/output_0.pb")
        )
        try await daemon.withClient { client in
            let stored = try await upload(client, model)
            var predict = Rkd_V1_PredictRequest()
            predict.modelDigest = stored.digest
            predict.npy = try NPYArray(shape: input.tensor.shape, elements: .float32(input.tensor.scalars)).npyData()
            let own = try await client.predict(predict)
            #expect(own.outputKind == .probabilities)
            let worst = zip(own.logits.data, expected.tensor.scalars).map { abs($0 - $1) }.max() ?? 1
            #expect(worst < 1e-5)
            predict.logits = true
            let logits = try await client.predict(predict)
            #expect(logits.outputKind == .logits)
            #expect(zip(logits.logits.data, input.tensor.scalars).allSatisfy { abs($0 - $1) < 1e-6 })
            #expect(logits.predictions == own.predictions)
        }
        #expect(daemon.stop() == 0)
    }

    /// Inspect runs the model once: a convolution whose weight does not fit the declared input passes
    /// the operator check but not the dry run, and inspect says which node and why.
    @Test func inspectDryRunFindsShapesThatDoNotFit() async throws {
        let daemon = try DaemonProcess()
        // test_Conv2d declares a 3-channel input; declaring 5 channels makes the weight not fit.
        let model = try Onnx_ModelProtoBytes.withFirstInputChannels(
            5,
            try testData("pytorch-converted/test_Conv2d/model.onnx")
        )
        try await daemon.withClient { client in
            var inspect = Rkd_V1_InspectModelRequest()
            inspect.modelDigest = try await upload(client, model).digest
            let info = try await client.inspectModel(inspect)
            #expect(!info.fullySupported)
            let reason = try #require(info.unsupportedNodes.first?.reason)
            #expect(reason.contains("dry run"), "\(reason)")
            // The unchanged model runs.
            inspect.modelDigest = try await upload(client, try testData("pytorch-converted/test_Conv2d/model.onnx"))
                .digest
            #expect(try await client.inspectModel(inspect).fullySupported)
        }
        #expect(daemon.stop() == 0)
    }

    /// The graph-size limit comes from rkdd.conf, and its error names the setting.
    @Test func graphSizeLimitIsConfigured() async throws {
        let daemon = try DaemonProcess(settings: ["maxGraphNodes": 5])
        try await daemon.withClient { client in
            let stored = try await upload(client, try sampleModel())  // 10 nodes
            var inspect = Rkd_V1_InspectModelRequest()
            inspect.modelDigest = stored.digest
            do {
                _ = try await client.inspectModel(inspect)
                Issue.record("a model over maxGraphNodes was inspected")
            } catch let error as RPCError {
                #expect(error.message.contains("maxGraphNodes"), "\(error.message)")
            }
        }
        #expect(daemon.stop() == 0)
    }

    @Test func uploadsOverTheLimitAreRefused() async throws {
        let daemon = try DaemonProcess(settings: ["maxUploadBytes": 2048])
        let model = try testData("pytorch-converted/test_Conv2d/model.onnx")
        try await daemon.withClient { client in
            var big = Data(count: 5000)
            big[0] = 8
            do {
                _ = try await upload(client, big, chunk: 1000)
                Issue.record("an oversize upload was accepted")
            } catch let error as RPCError {
                #expect(error.code == .resourceExhausted)
                #expect(error.message.contains("2048"))
            }
            // Nothing of it stays behind; a small model still goes in.
            let models = try FileManager.default.contentsOfDirectory(
                atPath: daemon.stateDirectory.appendingPathComponent("models").path
            )
            #expect(models.isEmpty)
            #expect(model.count < 2048)
            _ = try await upload(client, model)
        }
        #expect(daemon.stop() == 0)
    }

    /// A job put into the store is listed, watched and cancelled over RPC while it runs (a long audit of
    /// the sample model); the watch ends with the final state.
    @Test func listWatchCancel() async throws {
        let daemon = try DaemonProcess()
        try await daemon.withClient { client in
            let model = try await upload(client, try sampleModel())
            let store = try JobStore(directory: daemon.stateDirectory)
            let spec = JobSpec.audit(
                AuditSpec(
                    attacks: [AttackSettings(.autoAttack)],
                    norm: .linf,
                    epsilons: [0.1],
                    data: DatasetSelection(name: "fashion-mnist", split: .test),
                    numExamples: 0,
                    batchSize: 50,
                    seed: 1
                )
            )
            let submitted = try await store.submit(
                JobSubmission(ownerUID: getuid(), spec: spec, modelDigest: model.digest)
            )
            let id = submitted.job.id
            let list = try await client.listJobs(Rkd_V1_ListJobsRequest())
            #expect(list.jobs.map(\.id) == [id])
            #expect(list.jobs[0].kind == .audit)
            var get = Rkd_V1_GetJobRequest()
            get.jobID = "missing"
            #expect(await rpcCode { _ = try await client.getJob(get) } == .notFound)

            let watcher = Task {
                var watch = Rkd_V1_WatchJobRequest()
                watch.jobID = id
                return try await client.watchJob(watch) { response in
                    var states: [Rkd_V1_JobState] = []
                    for try await event in response.messages {
                        if case .stateChange(let change) = event.event { states.append(change.toState) }
                    }
                    return states
                }
            }
            try await Task.sleep(for: .milliseconds(400))
            var cancel = Rkd_V1_CancelJobRequest()
            cancel.jobID = id
            let cancelled = try await client.cancelJob(cancel)
            #expect(cancelled.state == .cancelled || cancelled.state == .running)
            // The running audit stops (at its next model evaluation); the watch then ends.
            let final = try await waitForJob(client, id, seconds: 30) { $0.state.isFinal }
            #expect(final.state == .cancelled)
            let states = try await watcher.value
            #expect(states.first == .queued && states.last == .cancelled, "\(states)")
            // Cancelling again changes nothing; a cancelled audit has no report.
            #expect(try await client.cancelJob(cancel).state == .cancelled)
            var report = Rkd_V1_GetReportRequest()
            report.jobID = id
            #expect(await rpcCode { _ = try await client.getReport(report) } == .failedPrecondition)
        }
        #expect(daemon.stop() == 0)
    }

    /// A second daemon on the same state directory refuses to start instead of stealing its jobs.
    @Test func oneDaemonPerStateDirectory() async throws {
        let daemon = try DaemonProcess()
        let second = Process()
        second.executableURL = try productsDirectory().appendingPathComponent("rkdd")
        second.arguments = [
            "--socket", daemon.directory.appendingPathComponent("other.sock").path,
            "--state-directory", daemon.stateDirectory.path,
        ]
        let errors = Pipe()
        second.standardError = errors
        try second.run()
        second.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(second.terminationStatus == 1)
        #expect(message.contains("another rkdd already uses the state directory"))
        #expect(daemon.stop() == 0)
        // The daemon told the (fake) service manager it was stopping.
        #expect(daemon.notify.wait(for: "STOPPING=1", seconds: 5) != nil)
    }
}
