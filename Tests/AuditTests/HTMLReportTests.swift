import Attacks
import Audit
import Foundation
import Testing

/// The HTML report: self-contained, escaped, free of non-finite coordinates, and rendered by a real
/// headless Chromium without a single network request. Set `RKD_HTML_REPORT_DIR` to a directory to
/// keep the page, the screenshot, the DOM and the net log there for a look.
@Suite("HTML report")
struct HTMLReportTests {
    static let chromium = "/usr/bin/chromium"
    static let python = "/usr/bin/python3"
    /// The package's root (this file is Tests/AuditTests/HTMLReportTests.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Class names and a model name that HTML must escape.
    static let classNames = ["T-shirt/top", "<b>bold</b>", "Tom & Jerry", "it's", "\"quoted\""]
    static let modelName = "linear <test> & 'co'"

    /// A real audit of the test model: three attacks at three budgets, a steps curve, a pass mark and a flag.
    static func report() async throws -> AuditReport {
        let model = TestModel(seed: 9)
        let base = model.examples(40)
        let examples = AuditExamples(
            inputs: base.inputs,
            labels: base.labels,
            indices: base.indices,
            exampleShape: base.exampleShape,
            classNames: classNames
        )
        let cells: [any Attack] = [0.01, 0.03, 0.05].flatMap { (eps: Float) -> [any Attack] in
            [FGSM(epsilon: eps), PGD(.linf, epsilon: eps, steps: 10), Square(.linf, epsilon: eps, queries: 50)]
        }
        let plan = AuditPlan(
            norm: .linf,
            cells: cells,
            batchSize: 16,
            seed: 42,
            curve: AuditPlan.stepsCurve(norm: .linf, epsilons: [0.03, 0.05], steps: [0, 1, 5, 20]),
            curveExamples: 20
        )
        let state = try await AuditRunner(model: model, examples: examples, plan: plan).run(
            state: AuditState(cells: plan.allCells.count)
        )
        var context = AuditRunnerTests.context
        context.model.name = modelName
        context.probabilityOutputNote = "The model ends in LogSoftmax; its log-probabilities serve as logits."
        return AuditReport(plan: plan, examples: examples, state: state, context: context)
    }

    /// The values of the numeric SVG attributes that do not parse as finite numbers.
    static func nonFiniteCoordinates(_ html: String) -> [String] {
        let pattern = /\s(?:x|y|x1|y1|x2|y2|cx|cy|r|width|height|points|viewBox)="([^"]*)"/
        return html.matches(of: pattern).flatMap { match in
            String(match.1).split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        }.filter { Double($0)?.isFinite != true }
    }

    @Test func thePageIsSelfContainedAndEscaped() async throws {
        let report = try await Self.report()
        #expect(report.epsilons.count == 3 && !report.flags.isEmpty && !report.gallery.isEmpty)
        let html = report.html()
        let verdict = try #require(report.verdict)
        let expected = [
            "<!DOCTYPE html>", "<svg", "Robust accuracy vs ε", "Robust accuracy per class at ε = 0.05",
            "<table class=\"results\">", "<th>median ‖δ‖</th>", "<td>pgd</td><td>0.05</td><td>10</td>",
            "Worst case over all attacks", "<polygon", "probability-output", "What to do: ", "Attack settings",
            "steps=10", "Adversarial examples", "difference ×5", "Robust accuracy vs PGD steps",
            "<section class=\"verdict \(verdict.result.lowercased())\"",
            // Every text from the report, escaped.
            "&lt;b&gt;bold&lt;/b&gt;", "Tom &amp; Jerry", "it&#39;s", "&quot;quoted&quot;",
            "<code>linear &lt;test&gt; &amp; &#39;co&#39;</code>",
        ]
        #expect(expected.filter { !html.contains($0) } == [], "missing from the page")
        // Nothing that loads (no link, script or stylesheet import) and no unescaped text.
        let forbidden = [
            "http:", "https:", "src=\"//", "href=", "<script", "url(", "@import", "<link", "<b>bold", "<test>",
        ]
        #expect(forbidden.filter { html.contains($0) } == [], "found in the page")
        #expect(Self.nonFiniteCoordinates(html).isEmpty)
    }

    /// One budget, robust accuracies of exactly 0 and 1, a colour picture and a picture whose shape
    /// does not match its pixels: every coordinate stays finite and nothing traps.
    @Test func oneBudgetAndExtremeAccuraciesDrawFinitePictures() throws {
        let examples = TestModel(seed: 9).examples(10)
        let plan = AuditPlan(
            norm: .linf,
            cells: [FGSM(epsilon: 0.1), PGD(.linf, epsilon: 0.1, steps: 5)],
            batchSize: 10,
            seed: 1
        )
        var state = AuditState(cells: 2)
        state.cleanPredictions = examples.labels
        state.deterministic = true
        state.batchDependent = false
        state.degenerateGradients = 0
        let outcome = { (fooled: Bool) in
            ExampleOutcome(fooled: fooled, prediction: 0, queries: 1, linf: 0.1, l2: 0.2, by: fooled ? "fgsm" : "")
        }
        // FGSM fools every example, PGD none.
        state.outcomes = [(0..<10).map { _ in outcome(true) }, (0..<10).map { _ in outcome(false) }]
        let red = [Float](repeating: 1, count: 16) + [Float](repeating: 0, count: 32)
        state.gallery[0] = [
            GalleryImage(
                position: 0,
                index: 1000,
                label: 1,
                prediction: 2,
                shape: [3, 4, 4],
                clean: red,
                adversarial: red
            ),
            GalleryImage(
                position: 1,
                index: 1001,
                label: 1,
                prediction: 2,
                shape: [1, 4, 4],
                clean: [0.5],
                adversarial: []
            ),
        ]
        let report = AuditReport(plan: plan, examples: examples, state: state, context: AuditRunnerTests.context)
        #expect(report.attacks.map(\.robustAccuracy) == [0, 1] && report.epsilons == [0.1])
        let html = report.html()
        #expect(Self.nonFiniteCoordinates(html).isEmpty)
        #expect(["nan", "NaN", "inf\""].filter { html.contains($0) } == [], "found in the page")
        let expected = [
            "fill=\"#ff0000\"",  // the colour picture, in colour
            "does not match its pixels", "<section class=\"verdict fail\"", "fgsm-stronger-than-pgd",
        ]
        #expect(expected.filter { !html.contains($0) } == [], "missing from the page")
    }

    /// Chromium opens the page from disk, renders it (a screenshot that is not blank, the SVG in the
    /// DOM) and its net log shows no request made for the page.
    @Test func chromiumRendersThePageOffline() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.chromium) else {
            Issue.record("\(Self.chromium) is missing: run scripts/bootstrap (it installs Debian's chromium package)")
            return
        }
        let report = try await Self.report()
        let keep = ProcessInfo.processInfo.environment["RKD_HTML_REPORT_DIR"]
        let directory =
            keep.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("rkd-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(at: directory) } }
        let page = directory.appendingPathComponent("report.html")
        let shot = directory.appendingPathComponent("shot.png")
        let netLog = directory.appendingPathComponent("net.json")
        try report.html().write(to: page, atomically: true, encoding: .utf8)

        let browser = try await BrowserRun.run(
            Self.chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,3000",
                "--user-data-dir=\(directory.path)/profile", "--no-first-run", "--disable-background-networking",
                // Chromium's own background requests (updates, time) resolve nowhere; they are still logged.
                "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", "--screenshot=\(shot.path)",
                "--log-net-log=\(netLog.path)", page.absoluteString,
            ],
            in: directory,
            name: "chromium"
        )
        try #require(browser.status == 0, "chromium exited with \(browser.status): \(browser.errors.suffix(2000))")

        // The screenshot is the page, not a blank window.
        try #require(FileManager.default.fileExists(atPath: shot.path), "chromium wrote no screenshot")
        let script = Self.repository.appendingPathComponent("scripts/png_stats.py").path
        let decoded = try await BrowserRun.run(Self.python, [script, shot.path], in: directory, name: "png_stats")
        try #require(decoded.status == 0, "png_stats failed: \(decoded.errors)")
        let stats = try #require(
            try JSONSerialization.jsonObject(with: Data(decoded.output.utf8)) as? [String: Any],
            "png_stats printed \(decoded.output)"
        )
        #expect(stats["width"] as? Int == 1200 && stats["height"] as? Int == 3000, "\(stats)")
        #expect((stats["distinct_colors"] as? Int ?? 0) > 100, "\(stats)")
        #expect((stats["non_white_fraction"] as? Double ?? 0) > 0.01, "\(stats)")

        // The rendered DOM holds the pictures: three charts and three images per example.
        let dom = browser.output
        let svgs = dom.components(separatedBy: "<svg").count - 1
        #expect(svgs == 3 + 3 * report.gallery.count, "\(svgs) <svg> elements in the DOM")
        #expect(dom.components(separatedBy: "</svg>").count - 1 == svgs)
        let expected = ["Robust accuracy vs ε", "<polyline", "<polygon", "<circle", "class=\"pixels\""]
        #expect(expected.filter { !dom.contains($0) } == [], "missing from the DOM")

        let requests = try BrowserRun.pageRequests(netLog: Data(contentsOf: netLog))
        #expect(requests.isEmpty, "the page made network requests: \(requests)")
    }

    /// The before/after page of a hardening job: escaped, finite, and rendered by Chromium offline with
    /// its bar chart and its curves.
    @Test func chromiumRendersTheComparisonOffline() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.chromium) else {
            Issue.record("\(Self.chromium) is missing: run scripts/bootstrap (it installs Debian's chromium package)")
            return
        }
        let before = try await Self.report()
        var after = before
        for index in after.attacks.indices {
            after.attacks[index].robustAccuracy = min(1, after.attacks[index].robustAccuracy + 0.25)
        }
        let comparison = AuditComparison(
            title: "Hardening <model>",
            facts: [("method", "robust-kd & co")],
            before: before,
            after: after
        )
        let markdown = comparison.markdown()
        #expect(markdown.contains("| attack | ε | before | after | change |"))
        #expect(markdown.contains("## Reliability flags of the hardened model"))
        let html = comparison.html()
        #expect(html.contains("Hardening &lt;model&gt;") && html.contains("robust-kd &amp; co"))
        #expect(Self.nonFiniteCoordinates(html).isEmpty)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rkd-cmp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("report.html")
        let shot = directory.appendingPathComponent("shot.png")
        let netLog = directory.appendingPathComponent("net.json")
        try html.write(to: page, atomically: true, encoding: .utf8)
        let browser = try await BrowserRun.run(
            Self.chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600",
                "--user-data-dir=\(directory.path)/profile", "--no-first-run", "--disable-background-networking",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", "--screenshot=\(shot.path)",
                "--log-net-log=\(netLog.path)", page.absoluteString,
            ],
            in: directory,
            name: "chromium"
        )
        try #require(browser.status == 0, "chromium exited with \(browser.status): \(browser.errors.suffix(2000))")
        let script = Self.repository.appendingPathComponent("scripts/png_stats.py").path
        let decoded = try await BrowserRun.run(Self.python, [script, shot.path], in: directory, name: "png_stats")
        try #require(decoded.status == 0, "png_stats failed: \(decoded.errors)")
        let stats = try #require(
            try JSONSerialization.jsonObject(with: Data(decoded.output.utf8)) as? [String: Any],
            "png_stats printed \(decoded.output)"
        )
        #expect((stats["distinct_colors"] as? Int ?? 0) > 20, "\(stats)")
        #expect((stats["non_white_fraction"] as? Double ?? 0) > 0.01, "\(stats)")
        let dom = browser.output
        #expect(dom.components(separatedBy: "<svg").count - 1 == 2, "two charts")
        let expected = ["Accuracy before and after", "Robust accuracy vs ε, before and after", "<polyline", "<rect"]
        #expect(expected.filter { !dom.contains($0) } == [], "missing from the DOM")
        let requests = try BrowserRun.pageRequests(netLog: Data(contentsOf: netLog))
        #expect(requests.isEmpty, "the page made network requests: \(requests)")
    }
}

/// A child process with a deadline, and what Chromium's net log says the page requested.
enum BrowserRun {
    struct Finished {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `executable` to completion, its output going to files in `directory` (no pipe to fill up
    /// or to be held open by a grandchild); after `timeout` seconds it is terminated and the test fails.
    static func run(
        _ executable: String,
        _ arguments: [String],
        in directory: URL,
        name: String,
        timeout: TimeInterval = 60
    ) async throws -> Finished {
        let stdout = directory.appendingPathComponent("\(name).stdout")
        let stderr = directory.appendingPathComponent("\(name).stderr")
        for file in [stdout, stderr] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            process.terminate()
            let grace = Date().addingTimeInterval(5)
            while process.isRunning && Date() < grace { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            Issue.record("\(name) did not finish within \(Int(timeout)) s and was killed")
        }
        return Finished(
            status: process.terminationStatus,
            output: (try? String(contentsOf: stdout, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
        )
    }

    /// The http, https, ws and wss URLs that a net log (Chromium's `--log-net-log` JSON) shows requested
    /// on behalf of a page: every URL request with an initiator other than the browser itself ("not an
    /// origin") or in the file:// network partition. The browser's own background requests (component
    /// updates, network time) have no initiator and another partition, so they do not count.
    static func pageRequests(netLog: Data) throws -> [String] {
        let log = try #require(try JSONSerialization.jsonObject(with: netLog) as? [String: Any], "net log not JSON")
        let constants = try #require(log["constants"] as? [String: Any], "net log without constants")
        let types = try #require(constants["logEventTypes"] as? [String: Int], "net log without event types")
        let startJob = try #require(types["URL_REQUEST_START_JOB"], "net log without URL_REQUEST_START_JOB")
        let events = try #require(log["events"] as? [[String: Any]], "net log without events")
        var urls: [String] = []
        for event in events where event["type"] as? Int == startJob {
            guard let params = event["params"] as? [String: Any], let url = params["url"] as? String else { continue }
            let scheme = url.prefix { $0 != ":" }.lowercased()
            guard ["http", "https", "ws", "wss"].contains(scheme) else { continue }
            let initiator = params["initiator"] as? String ?? ""
            let partition = [params["network_isolation_key"], params["site_for_cookies"]].compactMap { $0 as? String }
            if initiator != "not an origin" || partition.contains(where: { $0.contains("file:") }) {
                urls.append(url)
            }
        }
        return urls
    }
}
