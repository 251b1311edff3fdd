import DaemonAPI
import Foundation
import NPY
import Synchronization
import Testing

/// The built rkdctl against `FakeDaemon` on a temporary socket: what it sends, prints and exits with.
@Suite("rkdctl against a fake daemon")
struct FakeDaemonTests {
    let directory: URL
    var socket: String { directory.appendingPathComponent("rkd.sock").path }

    init() throws { directory = try makeTemporaryDirectory() }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs rkdctl with `arguments` + `--socket` against a fresh fake daemon, then removes the directory.
    private func withDaemon(
        _ body: (FakeDaemon, _ rkdctl: ([String]) async throws -> CommandResult) async throws -> Void
    ) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = socket
        try await FakeDaemon.serving(on: socket) { fake in
            try await body(fake) { arguments in try await run(arguments + ["--socket", socket]) }
        }
    }

    @Test func version() async throws {
        try await withDaemon { _, rkdctl in
            let text = try await rkdctl(["version"])
            #expect(text.status == 0, "\(text.standardError)")
            #expect(
                text.standardOutput
                    == "rkdctl 0.1.0\n"
                    + "rkdd   9.9.9-fake (api rkd.v1, commit abc1234, Swift 6.3.1, 2 threads) at \(socket)\n"
            )
            let json = try await rkdctl(["version", "--json"])
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
            )
            #expect((object["client"] as? [String: Any])?["version"] as? String == "0.1.0")
            let daemon = try #require(object["daemon"] as? [String: Any])
            #expect(daemon["api_version"] as? String == "rkd.v1")
            #expect(daemon["swift_version"] as? String == "6.3.1")
            #expect(daemon["threads"] as? Int == 2)
        }
    }

    /// A 2.5 MiB model goes up in chunks of at most 1 MiB, after a header with its name and size.
    @Test func inspectUploadsInChunks() async throws {
        try await withDaemon { fake, rkdctl in
            let bytes = Data((0..<(5 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            try bytes.write(to: URL(fileURLWithPath: path("model.onnx")))
            let result = try await rkdctl(["inspect", path("model.onnx")])
            #expect(result.status == 0, "\(result.standardError)")
            let recorded = fake.recorded.withLock { $0 }
            #expect(recorded.uploadHeader?.filename == "model.onnx")
            #expect(recorded.uploadHeader?.sizeBytes == UInt64(bytes.count))
            #expect(recorded.uploadChunkSizes == [1 << 20, 1 << 20, 1 << 19])
            #expect(recorded.uploadBytes == bytes)
            let lines = result.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first == "\(path("model.onnx")): 2,621,440 bytes, stored as sha256 \(FakeDaemon.digest)")
            #expect(lines.contains("ONNX IR 8, opset ai.onnx 17; made by pytorch 2.5.0"))
            #expect(lines.contains("ONNX checker: valid"))
            #expect(lines.contains("  input  float  [N, 3, 7, ?]"))
            #expect(lines.contains("  logits  float  [N, 3]"))
            #expect(lines.contains("  Conv  ×2  supported"))
            #expect(lines.contains("parameters: 1,234,567"))
            #expect(lines.contains("output: logits"))
            #expect(lines.contains("rkd can run every node."))
        }
    }

    @Test func inspectJSON() async throws {
        try await withDaemon { _, rkdctl in
            try Data("model".utf8).write(to: URL(fileURLWithPath: path("model.onnx")))
            let result = try await rkdctl(["inspect", path("model.onnx"), "--json"])
            #expect(result.status == 0, "\(result.standardError)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            )
            #expect(object["digest"] as? String == FakeDaemon.digest)
            #expect(object["size_bytes"] as? Int == 5)
            #expect(object["fully_supported"] as? Bool == true)
            #expect(object["output_kind"] as? String == "logits")
            #expect(object["parameter_count"] as? Int == 1_234_567)
            let input = try #require((object["inputs"] as? [[String: Any]])?.first)
            let shape = try #require(input["shape"] as? [Any])
            #expect(shape.count == 4)
            #expect(shape[0] as? String == "N")
            #expect(shape[1] as? Int == 3)
            #expect(shape[3] is NSNull)
            let operators = try #require(object["operators"] as? [[String: Any]])
            #expect(operators.map { $0["op_type"] as? String } == ["Conv", "Foo"])
        }
    }

    @Test func inspectUnsupportedModel() async throws {
        try await withDaemon { _, rkdctl in
            try Data("model".utf8).write(to: URL(fileURLWithPath: path("unsupported.onnx")))
            let result = try await rkdctl(["inspect", path("unsupported.onnx")])
            #expect(result.status == 1, "inspect's exit status is its verdict")
            #expect(result.standardError.contains("rkd cannot run"))
            #expect(result.standardOutput.contains("  Foo   ×1  NOT SUPPORTED\n"))
            #expect(
                result.standardOutput.hasSuffix(
                    "rkd cannot run 1 node:\n  foo_1 (Foo): Foo is not an operator rkd implements\n"
                )
            )
        }
    }

    @Test func predictSendsTheBatchAndWritesOutputs() async throws {
        try await withDaemon { fake, rkdctl in
            try Data("model".utf8).write(to: URL(fileURLWithPath: path("model.onnx")))
            let input = try NPYArray(shape: [2, 1], elements: .float32([0.25, 0.75])).npyData()
            try input.write(to: URL(fileURLWithPath: path("x.npy")))
            try NPYArray(shape: [2], elements: .int64([1, 0])).npyData().write(to: URL(fileURLWithPath: path("y.npy")))
            let result = try await rkdctl([
                "predict", path("model.onnx"), "--input", path("x.npy"), "--labels", path("y.npy"),
                "--output", path("logits.npy"), "--input-gradient", path("g.npy"),
            ])
            #expect(result.status == 0, "\(result.standardError)")
            let request = try #require(fake.recorded.withLock { $0.predictRequest })
            #expect(request.modelDigest == FakeDaemon.digest)
            #expect(request.npy == input, "the .npy bytes go to the daemon as they are")
            #expect(request.labels == [1, 0])
            #expect(request.inputGradient)
            let logits = try NPYArray(npy: try Data(contentsOf: URL(fileURLWithPath: path("logits.npy"))))
            #expect(logits == (try NPYArray(shape: [2, 3], elements: .float32([0.5, -1, 2, 3, 0.25, -0.5]))))
            let gradient = try NPYArray(npy: try Data(contentsOf: URL(fileURLWithPath: path("g.npy"))))
            #expect(gradient == (try NPYArray(shape: [2, 1], elements: .float32([0.125, -0.25]))))
            #expect(
                result.standardOutput == """
                    row  prediction  label
                    0    2           1
                    1    0           0
                    correct: 1 of 2
                    loss: 1.5 (cross-entropy summed over 2 rows)
                    wrote [2, 3] logits to \(path("logits.npy"))
                    wrote [2, 1] input gradient to \(path("g.npy"))

                    """
            )
        }
    }

    @Test func predictJSON() async throws {
        try await withDaemon { _, rkdctl in
            try Data("model".utf8).write(to: URL(fileURLWithPath: path("model.onnx")))
            try NPYArray(shape: [2, 1], elements: .float64([0.25, 0.75])).npyData()
                .write(to: URL(fileURLWithPath: path("x.npy")))
            let result = try await rkdctl([
                "predict", path("model.onnx"), "--input", path("x.npy"), "--output", path("logits.npy"), "--json",
            ])
            #expect(result.status == 0, "\(result.standardError)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            )
            #expect(object["predictions"] as? [Int] == [2, 0])
            #expect(object["loss"] == nil, "no labels, no loss")
            let output = try #require(object["output"] as? [String: Any])
            #expect(output["path"] as? String == path("logits.npy"))
            #expect(output["shape"] as? [Int] == [2, 3])
        }
    }

    /// A model with nodes rkd cannot run: exit 1, the nodes named, nothing predicted or written.
    @Test func predictUnsupportedModel() async throws {
        try await withDaemon { fake, rkdctl in
            try Data("model".utf8).write(to: URL(fileURLWithPath: path("unsupported.onnx")))
            try NPYArray(shape: [1, 1], elements: .float32([0])).npyData().write(
                to: URL(fileURLWithPath: path("x.npy"))
            )
            let result = try await rkdctl([
                "predict", path("unsupported.onnx"), "--input", path("x.npy"), "--output", path("o.npy"),
            ])
            #expect(result.status == 1)
            #expect(
                result.standardError
                    == "rkdctl: rkd cannot run \(path("unsupported.onnx")):\n"
                    + "  foo_1 (Foo): Foo is not an operator rkd implements\n"
            )
            #expect(fake.recorded.withLock { $0.predictRequest } == nil)
            #expect(!FileManager.default.fileExists(atPath: path("o.npy")))
        }
    }

    @Test func jobsList() async throws {
        try await withDaemon { fake, rkdctl in
            let first = try await rkdctl(["jobs", "list", "--state", "running", "--state", "failed", "--kind", "audit"])
            #expect(first.status == 0, "\(first.standardError)")
            let request = try #require(fake.recorded.withLock { $0.listRequests.first })
            #expect(request.states == [.running, .failed])
            #expect(request.kind == .audit)
            #expect(request.pageSize == 50)
            let lines = first.standardOutput.split(separator: "\n").map(String.init)
            #expect(lines.count == 2)
            #expect(lines.first?.hasPrefix("ID      KIND   STATE    PROGRESS               CREATED") == true)
            #expect(lines.last?.hasPrefix("job-ok  audit  running  25% (25/100 examples)  ") == true)
            #expect(lines.last?.hasSuffix("  ababababababab".prefix(14)) == true)
            #expect(first.standardError == "(the newest 50 jobs; --all lists every one)\n")

            let all = try await rkdctl(["jobs", "list", "--all", "--json"])
            #expect(all.status == 0)
            #expect(fake.recorded.withLock { $0.listRequests.map(\.pageToken) } == ["", "", "p2"])
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(all.standardOutput.utf8)) as? [String: Any]
            )
            let jobs = try #require(object["jobs"] as? [[String: Any]])
            #expect(jobs.map { $0["id"] as? String } == ["job-ok", "job-failed"])
            #expect(jobs.map { $0["state"] as? String } == ["running", "failed"])
            #expect(object["truncated"] as? Bool == false)
            #expect((jobs[1]["error"] as? [String: Any])?["code"] as? String == "unsupported-operator")
        }
    }

    @Test func jobsShow() async throws {
        try await withDaemon { _, rkdctl in
            let text = try await rkdctl(["jobs", "show", "job-ok"])
            #expect(text.status == 0, "\(text.standardError)")
            let lines = text.standardOutput.split(separator: "\n").map(String.init)
            #expect(lines.contains("job      job-ok"))
            #expect(lines.contains("state    succeeded"))
            #expect(lines.contains("owner    uid 1000"))
            #expect(lines.contains("spec     pgd; linf ε 0.1; 100 examples; seed 7"))
            #expect(lines.contains("artifacts:"))
            #expect(
                lines.contains("  report.json  1,234 bytes  application/json  " + String(repeating: "cd", count: 32))
            )

            let json = try await rkdctl(["jobs", "show", "job-ok", "--json"])
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
            )
            #expect(object["created_at"] as? String == "2026-11-18T11:06:40.000Z")
            #expect(object["owner_uid"] as? Int == 1000)
            let audit = try #require((object["spec"] as? [String: Any])?["audit"] as? [String: Any])
            #expect((audit["attacks"] as? [[String: Any]])?.first?["name"] as? String == "pgd")
            #expect(audit["seed"] as? Int == 7)
            #expect(audit["epsilons"] as? [Double] == [0.1], "a Float prints as its shortest decimal")
        }
    }

    @Test func jobsCancel() async throws {
        try await withDaemon { _, rkdctl in
            let result = try await rkdctl(["jobs", "cancel", "job-ok"])
            #expect(result.status == 0)
            #expect(result.standardOutput == "job job-ok: cancelled\n")
        }
    }

    /// A job named by the start of its id: the start of two jobs' ids (on two pages of ListJobs) is
    /// refused, naming both.
    @Test func anAmbiguousJobIDStartIsRefused() async throws {
        try await withDaemon { _, rkdctl in
            let result = try await rkdctl(["jobs", "show", "job-"])
            #expect(result.status == 6, "\(result.standardError)")
            #expect(result.standardError.contains("2 jobs' ids start with 'job-'; give more of the id"))
            #expect(result.standardError.contains("job-ok") && result.standardError.contains("job-failed"))
        }
    }

    /// Each gRPC status the daemon answers with leaves rkdctl with its documented exit status.
    @Test func statusCodes() async throws {
        try await withDaemon { _, rkdctl in
            let expected: [(String, Int32, String)] = [
                ("missing", 5, "rkdctl: no job 'missing'\n"),
                ("bad", 6, "rkdctl: job_id 'bad' is not a UUID\n"),
                ("busy", 7, "rkdctl: the queue is full (64 jobs)\n"),
                ("denied", 4, "rkdctl: permission denied: not your job\n"),
                ("late", 1, "rkdctl: rkdd answered FAILED_PRECONDITION: job 'late' has already succeeded\n"),
            ]
            for (id, status, message) in expected {
                for command in [["jobs", "show", id], ["jobs", "cancel", id], ["jobs", "watch", id]] {
                    let result = try await rkdctl(command)
                    #expect(result.status == status, "\(command)")
                    #expect(result.standardError == message, "\(command)")
                }
            }
        }
    }

    @Test func watchPrintsLinesOnAPipe() async throws {
        try await withDaemon { fake, rkdctl in
            let result = try await rkdctl(["jobs", "watch", "job-ok"])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(fake.recorded.withLock { $0.watchAfterSeqs } == [0])
            let lines = result.standardOutput.split(separator: "\n").map { String($0) }
            try #require(lines.count == 5, "\(lines)")
            #expect(lines[0].hasSuffix("  state: queued → running"))
            #expect(lines[1].hasSuffix("  progress: pgd eps=0.1: 50% (50/100 examples), 2.4 examples/min"))
            #expect(lines[2].hasSuffix("  warning: gradients may be masked"))
            #expect(lines[3].hasSuffix("  state: running → succeeded"))
            #expect(lines[4] == "job job-ok succeeded")
            #expect(!result.standardOutput.contains("\u{1B}"), "no terminal control codes on a pipe")
        }
    }

    /// The stream breaks with UNAVAILABLE after two events: rkdctl re-attaches after seq 2 and shows each
    /// event once.
    @Test func watchReattachesAfterUnavailable() async throws {
        try await withDaemon { fake, rkdctl in
            let result = try await rkdctl(["jobs", "watch", "job-flaky"])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(fake.recorded.withLock { $0.watchAfterSeqs } == [0, 2])
            #expect(
                result.standardError
                    == "rkdctl: rkdd at \(socket) is unavailable: rkdd restarting; job continues; "
                    + "try again in a moment; re-attaching in 1 s (1 of 5)\n"
            )
            let lines = result.standardOutput.split(separator: "\n")
            #expect(lines.count == 5, "\(lines)")
            #expect(lines.filter { $0.contains("progress:") }.count == 1)
        }
    }

    @Test func watchFailedJob() async throws {
        try await withDaemon { _, rkdctl in
            let result = try await rkdctl(["jobs", "watch", "job-failed"])
            #expect(result.status == 1)
            #expect(
                result.standardOutput.contains(
                    "state: running → failed\n  error unsupported-operator: node 'n1' uses Foo\n"
                )
            )
            #expect(result.standardError == "rkdctl: job job-failed failed: unsupported-operator: node 'n1' uses Foo\n")
        }
    }

    @Test func watchJSONLines() async throws {
        try await withDaemon { _, rkdctl in
            let result = try await rkdctl(["jobs", "watch", "job-ok", "--json"])
            #expect(result.status == 0)
            let objects = try result.standardOutput.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            #expect(objects.map { $0["type"] as? String } == ["state_change", "progress", "log", "state_change"])
            #expect(objects.map { $0["seq"] as? Int } == [1, 2, 3, 4])
            #expect((objects[3]["state_change"] as? [String: Any])?["to"] as? String == "succeeded")
            #expect((objects[1]["progress"] as? [String: Any])?["done"] as? Int == 50)
            #expect(objects.allSatisfy { $0["job_id"] as? String == "job-ok" })
        }
    }

    /// On a terminal (a pseudo-terminal from script(1)) progress is a bar redrawn in place.
    @Test func watchDrawsABarOnATerminal() async throws {
        try await withDaemon { _, _ in
            let rkdctl = Products.executable("rkdctl").path
            let result = try await run(
                ["-q", "-e", "-c", "\(rkdctl) jobs watch job-ok --socket \(socket)", "/dev/null"],
                executable: "/usr/bin/script"
            )
            #expect(result.status == 0, "\(result.standardOutput)")
            #expect(
                result.standardOutput.contains(
                    "\r\u{1B}[2K[############············]  50% pgd eps=0.1: 50% (50/100 examples)"
                )
            )
            #expect(result.standardOutput.contains("job job-ok succeeded"))
        }
    }

    /// A daemon that drops --sample-offset (older than rkdctl) would audit the wrong examples: rkdctl
    /// cancels the job and says so.
    @Test func aDaemonIgnoringTheSampleOffsetIsCaught() async throws {
        try await withDaemon { _, rkdctl in
            try Data("model".utf8).write(to: URL(fileURLWithPath: path("model.onnx")))
            let result = try await rkdctl(["audit", path("model.onnx"), "--sample-offset", "100", "--detach"])
            #expect(result.status == 1, "\(result.standardError)")
            #expect(result.standardError.contains("rkdd ignored --sample-offset"), "\(result.standardError)")
            #expect(result.standardError.contains("job-audit"))
        }
    }

    /// `rkdctl harden --detach` sends the spec its flags describe and prints the job id.
    @Test func hardenSendsTheSpecOfItsFlags() async throws {
        try await withDaemon { fake, rkdctl in
            try Data("model".utf8).write(to: URL(fileURLWithPath: path("model.onnx")))
            let result = try await rkdctl([
                "harden", path("model.onnx"), "--teacher", "t1", "--alpha", "10", "--beta", "0.01", "--projections",
                "2", "--jacobian", "fd", "--fd-step", "0.05", "--projection", "joint", "--distance", "l2", "--pair",
                "a=b", "--classes", "5,6",
                "--half", "second", "--epochs", "3", "--batch-size", "64", "--learning-rate", "0.02", "--seed", "7",
                "--lr-steps", "1,2", "--lr-gamma", "0.5", "--init-from", "teacher", "--audit", "none", "--detach",
                "--json",
            ])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("\"job_id\" : \"job-harden\""), "\(result.standardOutput)")
            let spec = try #require(fake.recorded.withLock { $0.hardenRequest }).spec
            #expect(spec.teacher == "t1" && spec.method == .robustKd && spec.init_p == .teacher)
            #expect(spec.alpha == 10 && spec.beta == 0.01 && spec.projections == 2)
            #expect(
                spec.jacobian == .finiteDifference && spec.finiteDifferenceStep == 0.05 && spec.featureDistance == .l2
            )
            #expect(spec.projectionScope == .joint)
            #expect(spec.layers.map { "\($0.teacher)=\($0.student)" } == ["a=b"])
            #expect(spec.data.name == "fashion-mnist" && spec.data.classes == [5, 6] && spec.data.half == .second)
            #expect(spec.schedule.epochs == 3 && spec.schedule.batchSize == 64 && spec.schedule.learningRate == 0.02)
            #expect(spec.schedule.seed == 7 && spec.auditLevel == .none)
            #expect(spec.schedule.stepMilestones == [1, 2] && spec.schedule.stepGamma == 0.5)
        }
    }

    /// `rkdctl harden --method adversarial` sends the inner PGD's budget, steps and step size.
    @Test func adversarialHardeningSendsItsPGD() async throws {
        try await withDaemon { fake, rkdctl in
            try Data("model".utf8).write(to: URL(fileURLWithPath: path("model.onnx")))
            let result = try await rkdctl([
                "harden", path("model.onnx"), "--method", "adversarial", "--eps", "0.1", "--steps", "3",
                "--step-size", "0.05", "--audit", "none", "--detach", "--json",
            ])
            #expect(result.status == 0, "\(result.standardError)")
            let spec = try #require(fake.recorded.withLock { $0.hardenRequest }).spec
            #expect(spec.method == .adversarialTraining && spec.adversarial.norm == .linf)
            #expect(spec.adversarial.epsilon == 0.1 && spec.adversarial.steps == 3 && spec.adversarial.stepSize == 0.05)
        }
    }

    /// Bad harden flags are usage errors (exit 2) and nothing reaches the daemon.
    @Test func hardenRefusesBadFlags() async throws {
        try await withDaemon { fake, rkdctl in
            try Data("model".utf8).write(to: URL(fileURLWithPath: path("model.onnx")))
            for flags in [
                ["--method", "magic", "--teacher", "t", "-o", "x.onnx"], ["-o", "x.onnx"],
                ["--method", "adversarial", "-o", "x.onnx"], ["--teacher", "t"],
                ["--method", "adversarial", "--eps", "0.1", "--steps", "0", "-o", "x.onnx"],
                ["--method", "adversarial", "--eps", "0.1", "--step-size", "0", "-o", "x.onnx"],
                ["--teacher", "t", "--steps", "3", "-o", "x.onnx"],
                ["--teacher", "t", "-o", "x.onnx", "--pair", "ab"],
                ["--teacher", "t", "-o", "x.onnx", "--epochs", "0"],
                ["--teacher", "t", "-o", "x.onnx", "--lr-steps", "5,3"],
                ["--teacher", "t", "-o", "x.onnx", "--lr-steps", "0"],
                ["--teacher", "t", "-o", "x.onnx", "--lr-gamma", "0.5"],
                ["--teacher", "t", "-o", "x.onnx", "--lr-steps", "3", "--lr-gamma", "2"],
            ] {
                let result = try await rkdctl(["harden", path("model.onnx")] + flags)
                #expect(result.status == 2, "\(flags): \(result.standardError)")
            }
            #expect(fake.recorded.withLock { $0.hardenRequest } == nil)
        }
    }

    /// `jobs download` writes the artifact, and refuses a download cut short without writing anything.
    @Test func jobsDownloadWritesTheArtifact() async throws {
        try await withDaemon { _, rkdctl in
            let ok = try await rkdctl(["jobs", "download", "job-ok", "hardened.onnx", "-o", path("h.onnx")])
            #expect(ok.status == 0, "\(ok.standardError)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path("h.onnx"))) == FakeDaemon.artifactBytes)
            let cut = try await rkdctl(["jobs", "download", "job-cut", "hardened.onnx", "-o", path("c.onnx")])
            #expect(cut.status == 1 && cut.standardError.contains("cut short"), "\(cut.standardError)")
            #expect(!FileManager.default.fileExists(atPath: path("c.onnx")))
            let missing = try await rkdctl(["jobs", "download", "job-ok", "nothing", "-o", path("n.onnx")])
            #expect(missing.status == 5, "\(missing.standardError)")
        }
    }
}
