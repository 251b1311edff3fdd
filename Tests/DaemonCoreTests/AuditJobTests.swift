import DaemonAPI
import Datasets
import Foundation
import GRPCCore
import Jobs
import NN
import NPY
import ONNXInterop
import TensorEngine
import Testing

/// A small audit of the sample model: fgsm, pgd and square at two budgets.
private func auditRequest(digest: String, examples: UInt32, requestID: String) -> Rkd_V1_SubmitAuditRequest {
    var request = Rkd_V1_SubmitAuditRequest()
    request.modelDigest = digest
    request.requestID = requestID
    var spec = Rkd_V1_AuditSpec()
    var fgsm = Rkd_V1_AttackConfig()
    fgsm.attack = .fgsm
    var pgd = Rkd_V1_AttackConfig()
    pgd.attack = .pgd
    pgd.steps = 10
    var square = Rkd_V1_AttackConfig()
    square.attack = .square
    square.steps = 150
    spec.attacks = [fgsm, pgd, square]
    spec.epsilons = [0.05, 0.1]
    spec.numExamples = examples
    spec.batchSize = 10
    spec.seed = 5
    spec.failUnder = 0.3
    if requestID == "e2e" {
        spec.stepsCurve.steps = [0, 5]
        spec.stepsCurve.numExamples = 10
    }
    request.spec = spec
    return request
}

@Suite("Audit jobs in rkdd", .serialized)
struct AuditJobTests {
    /// SubmitAudit → the job runs → GetReport in every format; the numbers agree with Predict.
    @Test func auditEndToEnd() async throws {
        let daemon = try DaemonProcess()
        try await daemon.withClient { client in
            let digest = try await uploadModelBytes(client, try sampleModel(), filename: "fmnist-smallcnn.onnx")
            let job = try await client.submitAudit(auditRequest(digest: digest, examples: 40, requestID: "e2e"))
            let finished = try await waitForJob(client, job.id, seconds: 120) { $0.state.isFinal }
            #expect(finished.state == .succeeded, "\(finished.error)")
            #expect(Set(finished.artifacts.map(\.name)) == ["report.json", "report.md", "report.html"])

            var request = Rkd_V1_GetReportRequest()
            request.jobID = job.id
            let json = try await client.getReport(request)
            #expect(json.mediaType == "application/json" && json.format == .json)
            let object = try #require(try JSONSerialization.jsonObject(with: json.content) as? [String: Any])
            #expect(object["schema"] as? String == "rkd.audit/1")
            #expect(object["seed"] as? Int == 5)
            let indices = try #require((object["data"] as? [String: Any])?["indices"] as? [Int])
            #expect(indices == Array(0..<40))
            let curve = try #require(object["stepsCurve"] as? [[String: Any]])
            #expect(curve.compactMap { $0["steps"] as? Int } == [0, 5, 0, 5])
            #expect(object["stepsCurveExamples"] as? Int == 10)

            let summary = json.summary
            #expect(summary.robust.count == 6)
            #expect(summary.robust.map(\.attack) == [.fgsm, .fgsm, .pgd, .pgd, .square, .square])
            for entry in summary.robust {
                #expect(entry.accuracy <= summary.cleanAccuracy && entry.examples == 40)
                #expect(entry.accuracyLow <= entry.accuracy && entry.accuracy <= entry.accuracyHigh)
            }
            // PGD at the larger budget is no weaker than at the smaller one; a normally trained model
            // falls below the 30 % pass mark at ε = 0.1.
            #expect(summary.robust[3].accuracy <= summary.robust[2].accuracy)
            #expect(summary.verdict == (summary.worstRobustAccuracy < 0.3 ? .fail : .pass))

            // Clean accuracy agrees with Predict on the same 40 test images.
            let test = try DatasetCatalog().load("fashion-mnist", split: .test).prefix(40)
            var predict = Rkd_V1_PredictRequest()
            predict.modelDigest = digest
            predict.npy = try NPYArray(shape: test.shape, elements: .float32(test.images)).npyData()
            let predictions = try await client.predict(predict).predictions
            let correct = zip(predictions, test.labels).filter { Int($0) == $1 }.count
            #expect(abs(summary.cleanAccuracy - Double(correct) / 40) < 1e-12)

            request.format = .markdown
            let markdown = try await client.getReport(request)
            #expect(markdown.mediaType == "text/markdown")
            #expect(String(decoding: markdown.content, as: UTF8.self).contains("| pgd | 0.1 | 10 |"))
            request.format = .html
            let html = try await client.getReport(request)
            #expect(html.mediaType == "text/html")
            #expect(String(decoding: html.content, as: UTF8.self).contains("<svg"))
        }
        #expect(daemon.stop() == 0)
    }

    /// `kill -9` or SIGTERM in the middle of an audit: after the restart it resumes from its last
    /// checkpoint (attempt 2) and ends with exactly the outcomes of an uninterrupted audit with the same
    /// seed.
    @Test(arguments: ["kill", "sigterm"])
    func interruptedAuditResumesToTheSameResult(_ how: String) async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let first = try DaemonProcess(directory: directory.url)
        let (digest, interruptedID) = try await first.withClient { client in
            let digest = try await uploadModelBytes(client, try sampleModel(), filename: "fmnist-smallcnn.onnx")
            let job = try await client.submitAudit(auditRequest(digest: digest, examples: 120, requestID: "stopped"))
            // Stop once square (the slow cells) has started.
            _ = try await waitForJob(client, job.id, seconds: 120) {
                $0.state == .running && $0.progress.phase.hasPrefix("square") && $0.progress.done >= 20
            }
            return (digest, job.id)
        }
        if how == "kill" {
            first.kill()
        } else {
            #expect(first.stop(within: 20) == 0)
        }

        let second = try DaemonProcess(directory: directory.url)
        try await second.withClient { client in
            let resumed = try await waitForJob(client, interruptedID, seconds: 300) { $0.state.isFinal }
            #expect(resumed.state == .succeeded && resumed.attempt == 2, "\(resumed.state) attempt \(resumed.attempt)")
            let reference = try await client.submitAudit(
                auditRequest(digest: digest, examples: 120, requestID: "whole")
            )
            let whole = try await waitForJob(client, reference.id, seconds: 300) { $0.state.isFinal }
            #expect(whole.state == .succeeded)

            func robust(_ id: String) async throws -> [String] {
                var request = Rkd_V1_GetReportRequest()
                request.jobID = id
                let content = try await client.getReport(request).content
                let object = try #require(try JSONSerialization.jsonObject(with: content) as? [String: Any])
                let attacks = try #require(object["attacks"] as? [[String: Any]])
                return attacks.compactMap { $0["robust"] as? String }
            }
            let a = try await robust(interruptedID)
            let b = try await robust(reference.id)
            #expect(a.count == 6 && a == b)
        }
        #expect(second.stop(within: 20) == 0)
    }

    /// Audits of disjoint slices (first_example) give each example the outcome of one audit of the
    /// whole, so their per-example results put together are the whole's; a slice past the end of the
    /// selection fails with a clear error.
    @Test func slicedAuditsAddUpToTheWhole() async throws {
        let daemon = try DaemonProcess()
        try await daemon.withClient { client in
            let digest = try await uploadModelBytes(client, try sampleModel(), filename: "fmnist-smallcnn.onnx")
            func audit(first: UInt32, count: UInt32, id: String) async throws -> Rkd_V1_Job {
                var request = auditRequest(digest: digest, examples: count, requestID: id)
                request.spec.attacks.removeLast()  // square: slow, and its outcome is as seeded as the others'
                request.spec.batchSize = 7  // slices that do not start on a batch boundary
                request.spec.firstExample = first
                let job = try await client.submitAudit(request)
                return try await waitForJob(client, job.id, seconds: 120) { $0.state.isFinal }
            }
            func report(_ job: Rkd_V1_Job) async throws -> (indices: [Int], robust: [String]) {
                #expect(job.state == .succeeded, "\(job.error)")
                var request = Rkd_V1_GetReportRequest()
                request.jobID = job.id
                let content = try await client.getReport(request).content
                let object = try #require(try JSONSerialization.jsonObject(with: content) as? [String: Any])
                let indices = try #require((object["data"] as? [String: Any])?["indices"] as? [Int])
                let attacks = try #require(object["attacks"] as? [[String: Any]])
                return (indices, attacks.compactMap { $0["robust"] as? String })
            }
            let whole = try await report(try await audit(first: 0, count: 30, id: "whole"))
            let head = try await report(try await audit(first: 0, count: 12, id: "head"))
            let tail = try await report(try await audit(first: 12, count: 18, id: "tail"))
            #expect(whole.indices == Array(0..<30))
            #expect(head.indices == Array(0..<12) && tail.indices == Array(12..<30))
            #expect(whole.robust.count == 4 && head.robust.count == 4 && tail.robust.count == 4)
            #expect(zip(head.robust, tail.robust).map { $0 + $1 } == whole.robust)

            // The selection ends at 10 000 test images: a first example past it fails, naming the size.
            let beyond = try await audit(first: 10_000, count: 5, id: "beyond")
            #expect(beyond.state == .failed)
            #expect(beyond.error.code == "examples-out-of-range", "\(beyond.error)")
            #expect(beyond.error.message.contains("10000 examples"), "\(beyond.error.message)")
        }
        #expect(daemon.stop() == 0)
    }

    /// A configured CIFAR-10 binary data set (rkdd.conf "datasets") is listed and audited: 30 records
    /// written in the binary format, and a colour SmallCNN exported by rkd.
    @Test func configuredCIFAR10DataSetIsAudited() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let data = directory.url.appendingPathComponent("cifar")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var random = RandomGenerator(seed: 4)
        var records = Data()
        for index in 0..<30 {
            records.append(UInt8(index % 10))
            records.append(contentsOf: (0..<3072).map { _ in UInt8(random.nextInt(below: 256)) })
        }
        try records.write(to: data.appendingPathComponent("test_batch.bin"))
        let daemon = try DaemonProcess(
            settings: ["datasets": [["name": "cifar-10", "format": "cifar-10-binary", "directory": data.path]]],
            directory: directory.url
        )
        let model = try NNExport.exportedModel(SmallCNN(inputChannels: 3, height: 32, width: 32, seed: 2))
        try await daemon.withClient { client in
            let listed = try await client.listDatasets(Rkd_V1_ListDatasetsRequest())
            #expect(listed.datasets.map(\.name).contains("cifar-10"))
            let digest = try await uploadModelBytes(client, model)
            var request = Rkd_V1_SubmitAuditRequest()
            request.modelDigest = digest
            var fgsm = Rkd_V1_AttackConfig()
            fgsm.attack = .fgsm
            request.spec.attacks = [fgsm]
            request.spec.epsilons = [8.0 / 255]
            request.spec.data.name = "cifar-10"
            request.spec.numExamples = 20
            let job = try await client.submitAudit(request)
            let finished = try await waitForJob(client, job.id, seconds: 60) { $0.state.isFinal }
            #expect(finished.state == .succeeded, "\(finished.error)")
            var report = Rkd_V1_GetReportRequest()
            report.jobID = job.id
            let content = try await client.getReport(report).content
            let object = try #require(try JSONSerialization.jsonObject(with: content) as? [String: Any])
            let info = try #require(object["data"] as? [String: Any])
            #expect(info["name"] as? String == "cifar-10" && info["count"] as? Int == 20)
            #expect((info["classNames"] as? [String])?.first == "airplane")
        }
        #expect(daemon.stop() == 0)
    }
}
