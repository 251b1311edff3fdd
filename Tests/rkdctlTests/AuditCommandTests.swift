import Foundation
import NPY
import Testing

/// `rkdctl audit` and `rkdctl report` against a real rkdd, on the sample classifier.
@Suite("rkdctl audit", .serialized)
struct AuditCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let sample = repository.appendingPathComponent("samples/models/fmnist-smallcnn.onnx").path

    private func withDaemon(
        _ body: (RealDaemon, _ rkdctl: ([String]) async throws -> CommandResult) async throws -> Void
    ) async throws {
        let daemon = try await RealDaemon()
        defer { daemon.stop() }
        try await body(daemon) { arguments in try await run(arguments + ["--socket", daemon.socket], timeout: 300) }
    }

    static let small = ["--samples", "30", "--attack", "fgsm", "--attack", "pgd:steps=5", "--eps", "0.05,0.1"]

    @Test func jsonReportsAndTheFailVerdict() async throws {
        try await withDaemon { daemon, rkdctl in
            let reports = daemon.directory.appendingPathComponent("reports")
            let result = try await rkdctl(
                ["audit", Self.sample] + Self.small + ["--fail-under", "0.99", "--json", "--report-dir", reports.path]
            )
            #expect(result.status == 8, "\(result.standardError)")
            #expect(result.standardError.contains("FAIL"))
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            )
            let clean = try #require(object["clean_accuracy"] as? Double)
            #expect(clean > 0.7 && clean <= 1)
            let attacks = try #require(object["attacks"] as? [[String: Any]])
            #expect(attacks.compactMap { $0["name"] as? String } == ["fgsm", "fgsm", "pgd", "pgd"])
            for attack in attacks {
                for key in ["norm", "epsilon", "robust_accuracy", "ci95", "seconds"] {
                    #expect(attack[key] != nil, "attack entry without \(key)")
                }
                #expect((attack["robust_accuracy"] as? Double ?? 2) <= clean)
            }
            #expect(attacks[2]["steps"] as? Int == 5)
            #expect(object["flags"] is [Any])
            #expect(object["verdict"] as? String == "FAIL")
            for name in ["report.json", "report.md", "report.html"] {
                #expect(FileManager.default.fileExists(atPath: reports.appendingPathComponent(name).path), "\(name)")
            }
        }
    }

    @Test func textSummaryDetachAndReport() async throws {
        try await withDaemon { _, rkdctl in
            let text = try await rkdctl(["audit", Self.sample] + Self.small)
            #expect(text.status == 0, "\(text.standardError)")
            #expect(text.standardOutput.contains("auditing \(Self.sample): 30 fashion-mnist test examples"))
            #expect(text.standardOutput.contains("worst case"))
            #expect(text.standardOutput.contains("reliability flags"))

            let detached = try await rkdctl(["audit", Self.sample, "--detach"] + Self.small + ["--seed", "9"])
            #expect(detached.status == 0, "\(detached.standardError)")
            let id = try #require(
                detached.standardOutput.split(separator: "\n").last.flatMap {
                    $0.split(separator: " ").dropFirst().first
                }
            )
            let watch = try await rkdctl(["jobs", "watch", String(id)])
            #expect(watch.status == 0, "\(watch.standardError)")
            let markdown = try await rkdctl(["report", String(id), "--format", "md"])
            #expect(markdown.status == 0 && markdown.standardOutput.hasPrefix("# Robustness audit"))
            #expect(markdown.standardOutput.contains("- seed: 9"))
            let missing = try await rkdctl(["report", UUID().uuidString.lowercased()])
            #expect(missing.status == 5, "\(missing.standardError)")

            // --classes audits a class subset; the 10-way sample keeps the original labels.
            let subset = try await rkdctl(
                [
                    "audit", Self.sample, "--classes", "5,7", "--samples", "20", "--attack", "fgsm", "--eps", "0.05",
                    "--json",
                ]
            )
            #expect(subset.status == 0, "\(subset.standardError)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(subset.standardOutput.utf8)) as? [String: Any]
            )
            #expect((object["clean_accuracy"] as? Double ?? 0) > 0.8, "sandals and sneakers: \(object)")

            // --sample-offset audits a slice: the last 4 test images, numbered as in the split.
            let slice = try await rkdctl(
                [
                    "audit", Self.sample, "--samples", "10", "--sample-offset", "9996", "--attack", "fgsm", "--eps",
                    "0.05",
                ]
                    + ["--detach"]
            )
            #expect(slice.status == 0, "\(slice.standardError)")
            #expect(slice.standardOutput.contains("10 fashion-mnist test examples from example 9996 on, "))
            let sliceID = try #require(
                slice.standardOutput.split(separator: "\n").last.flatMap { $0.split(separator: " ").dropFirst().first }
            )
            #expect(try await rkdctl(["jobs", "watch", String(sliceID)]).status == 0)
            // A job can be named by the start of its id.
            let shown = try await rkdctl(["jobs", "show", String(sliceID.prefix(8))])
            #expect(shown.status == 0, "\(shown.standardError)")
            #expect(shown.standardOutput.contains("job       \(sliceID)"), "\(shown.standardOutput)")
            #expect(shown.standardOutput.contains("from example 9996"), "\(shown.standardOutput)")
            let none = try await rkdctl(["jobs", "show", "zz"])
            #expect(none.status == 5, "\(none.standardError)")
            let all = try await rkdctl(["jobs", "show", ""])
            #expect(all.status != 0)
            let report = try await rkdctl(["report", String(sliceID), "--format", "json"])
            let data = try #require(
                (try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any])?["data"]
                    as? [String: Any]
            )
            #expect(data["indices"] as? [Int] == [9996, 9997, 9998, 9999])
        }
    }

    @Test(arguments: [
        (["--attack", "nope"], "unknown attack 'nope'"),
        (["--eps", "0"], "is not a budget"),
        (["--fail-under", "2"], "--fail-under"),
        (["--norm", "l3"], "--norm"),
        (["--attack", "pgd:steps=0"], "steps must be"),
        (["--steps-curve", "1,x"], "--steps-curve"),
        (["--classes", "5,x"], "--classes takes class ids"),
    ])
    func badFlagsAreUsageErrors(_ flags: [String], _ message: String) async throws {
        let result = try await run(["audit", Self.sample] + flags + ["--no-autostart"])
        #expect(result.status == 2, "\(result.standardError)")
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }

    /// The scheduled-audit unit's command line, expanded as systemd does (`$VAR` split into words,
    /// `${VAR}` one word) from the example configuration, runs the audit and gates on the verdict.
    @Test func theScheduledAuditUnitRunsRkdctlAudit() async throws {
        let unit = try String(
            contentsOf: Self.repository.appendingPathComponent("systemd/rkd-audit@.service"),
            encoding: .utf8
        )
        let execStart = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
            .dropFirst("ExecStart=".count)
        try await withDaemon { daemon, _ in
            for (failUnder, expected) in [("0", Int32(0)), ("0.99", Int32(8))] {
                let environment = [
                    "RKD_AUDIT_MODEL": Self.sample,
                    "RKD_AUDIT_ARGS": "--samples 20 --attack fgsm --eps 0.1 --fail-under \(failUnder)",
                ]
                var words: [String] = []
                for word in execStart.split(separator: " ").map(String.init) {
                    if word.hasPrefix("${") && word.hasSuffix("}") {
                        words.append(environment[String(word.dropFirst(2).dropLast())] ?? "")
                    } else if word.hasPrefix("$") {
                        words += (environment[String(word.dropFirst())] ?? "").split(separator: " ").map(String.init)
                    } else {
                        words.append(word == "/run/rkd/rkd.sock" ? daemon.socket : word)
                    }
                }
                #expect(words.first == "/usr/bin/rkdctl" && words[1] == "audit")
                let result = try await run(Array(words.dropFirst()), timeout: 300)
                #expect(result.status == expected, "\(words) → \(result.standardError)")
            }
        }
    }

    /// --inputs/--labels: the user's own images (uint8 here) are audited; clean accuracy agrees with
    /// predict on the same images, and a label count that does not match fails the job with the reason.
    @Test func uploadedExamples() async throws {
        try await withDaemon { daemon, rkdctl in
            var generator = SystemRandomNumberGenerator()
            let count = 12
            let pixels = (0..<count * 28 * 28).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let labels = (0..<count).map { Int64($0 % 10) }
            let x = daemon.directory.appendingPathComponent("x.npy")
            let xFloat = daemon.directory.appendingPathComponent("x-float.npy")
            let y = daemon.directory.appendingPathComponent("y.npy")
            let short = daemon.directory.appendingPathComponent("y-short.npy")
            try NPYArray(shape: [count, 28, 28], elements: .uint8(pixels)).npyData().write(to: x)
            try NPYArray(shape: [count, 1, 28, 28], elements: .float32(pixels.map { Float($0) / 255 })).npyData()
                .write(to: xFloat)
            try NPYArray(shape: [count], elements: .int64(labels)).npyData().write(to: y)
            try NPYArray(shape: [count - 1], elements: .int64(Array(labels.dropLast()))).npyData().write(to: short)

            let result = try await rkdctl(
                [
                    "audit", Self.sample, "--inputs", x.path, "--labels", y.path, "--attack", "fgsm", "--eps", "0.1",
                    "--json",
                ]
            )
            #expect(result.status == 0, "\(result.standardError)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            )
            let clean = try #require(object["clean_accuracy"] as? Double)

            let logits = daemon.directory.appendingPathComponent("logits.npy")
            let predict = try await rkdctl(
                ["predict", Self.sample, "--input", xFloat.path, "--output", logits.path, "--labels", y.path]
            )
            #expect(predict.status == 0, "\(predict.standardError)")
            let correct = predict.standardOutput.split(separator: "\n").first { $0.hasPrefix("correct: ") }
            #expect(correct == "correct: \(Int((clean * Double(count)).rounded())) of \(count)")

            let mismatch = try await rkdctl(
                ["audit", Self.sample, "--inputs", x.path, "--labels", short.path, "--attack", "fgsm", "--eps", "0.1"]
            )
            #expect(mismatch.status == 1)
            #expect(mismatch.standardError.contains("one label per image"), "\(mismatch.standardError)")
            let noBudget = try await rkdctl(["audit", Self.sample, "--inputs", x.path, "--labels", y.path])
            #expect(noBudget.status == 2 && noBudget.standardError.contains("--eps"))
        }
    }
}
