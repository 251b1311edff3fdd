import Attacks
import Audit
import Foundation
import Testing

struct Stop: Error {}

@Suite("Audit runner")
struct AuditRunnerTests {
    static func plan(batchSize: Int) -> AuditPlan {
        AuditPlan(
            norm: .linf,
            cells: [
                FGSM(epsilon: 0.05), PGD(.linf, epsilon: 0.05, steps: 10), Square(.linf, epsilon: 0.05, queries: 50),
                PGD(.linf, epsilon: 0.1, steps: 10),
            ],
            batchSize: batchSize,
            seed: 42
        )
    }

    static let context = AuditContext(
        rkdVersion: "test",
        model: .init(digest: "0", name: "linear", outputKind: "logits"),
        dataName: "synthetic",
        split: "test",
        classCount: 5,
        failUnder: 0.5
    )

    @Test func wilsonIntervalsMatchPublishedValues() {
        // Wilson 95 % intervals (z = 1.96): 0/10 → [0, 0.2775], 5/10 → [0.2366, 0.7634], 10/10 → [0.7225, 1].
        let cases: [(Int, Int, Double, Double)] = [(0, 10, 0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1)]
        for (k, n, low, high) in cases {
            let interval = wilsonInterval(successes: k, trials: n)
            #expect(
                abs(interval.lowerBound - low) < 1e-4 && abs(interval.upperBound - high) < 1e-4,
                "\(k)/\(n): \(interval)"
            )
        }
    }

    @Test func aStoppedAndResumedAuditEqualsAnUninterruptedOne() async throws {
        let model = TestModel(seed: 9)
        let examples = model.examples(40)
        let plan = Self.plan(batchSize: 8)
        let whole = try await AuditRunner(model: model, examples: examples, plan: plan).run(state: AuditState(cells: 4))
        #expect(whole.isComplete(plan: plan, examples: 40))

        // Stop after the third checkpoint, keep only what was checkpointed (as JSON, like the disk), resume;
        // twice, and with another batch size on the second leg.
        var saved = AuditState(cells: 4)
        for (stopAfter, batchSize) in [(3, 8), (5, 5)] {
            var runner = AuditRunner(model: model, examples: examples, plan: Self.plan(batchSize: batchSize))
            var checkpoints = 0
            var last = try JSONEncoder().encode(saved)
            runner.checkpoint = { state in
                last = try JSONEncoder().encode(state)
                checkpoints += 1
            }
            runner.checkStop = { if checkpoints >= stopAfter { throw Stop() } }
            await #expect(throws: Stop.self) { _ = try await runner.run(state: saved) }
            saved = try JSONDecoder().decode(AuditState.self, from: last)
        }
        #expect(!saved.isComplete(plan: plan, examples: 40))
        let resumed = try await AuditRunner(model: model, examples: examples, plan: Self.plan(batchSize: 13)).run(
            state: saved
        )
        #expect(resumed.outcomes == whole.outcomes)
        #expect(resumed.gallery == whole.gallery)
        #expect(resumed.cleanPredictions == whole.cleanPredictions)
    }

    /// The long attacks (here Square) run on at most 32 examples at a time, each batch checkpointed
    /// and reported; the others on the plan's batch size.
    @Test func longAttacksRunInSmallerBatches() async throws {
        let model = TestModel(seed: 9)
        let examples = model.examples(40)
        let plan = Self.plan(batchSize: 40)
        #expect(plan.allCells.map(\.name) == ["fgsm", "pgd", "square", "pgd"])
        #expect((0..<4).map { plan.batchSize(inCell: $0) } == [40, 40, 32, 40])
        #expect(Self.plan(batchSize: 8).batchSize(inCell: 2) == 8)
        var runner = AuditRunner(model: model, examples: examples, plan: plan)
        var reports: [[Int]] = []
        runner.progress = { cell, done, _ in reports.append([cell, done]) }
        _ = try await runner.run(state: AuditState(cells: 4))
        #expect(reports == [[0, 40], [1, 40], [2, 32], [2, 40], [3, 40]])
    }

    @Test func theReportSaysWhatRan() async throws {
        let model = TestModel(seed: 9)
        let examples = model.examples(40)
        let plan = Self.plan(batchSize: 16)
        let state = try await AuditRunner(model: model, examples: examples, plan: plan).run(state: AuditState(cells: 4))
        let report = AuditReport(plan: plan, examples: examples, state: state, context: Self.context)
        // Every seventh label is wrong: 6 clean errors among 40.
        #expect(abs(report.cleanAccuracy - 34.0 / 40) < 1e-12)
        #expect(report.attacks.map(\.name) == ["fgsm", "pgd", "square", "pgd"])
        #expect(report.epsilons == [0.05, 0.1])
        #expect(report.data.indices.first == 1000)
        for attack in report.attacks {
            #expect(attack.robustAccuracy <= report.cleanAccuracy)
            #expect(attack.ci95[0] <= attack.robustAccuracy && attack.robustAccuracy <= attack.ci95[1])
            #expect(attack.robust.count == 40)
            #expect(attack.fooledBy["clean"] == 6)
            #expect(attack.settings["epsilon"] == "\(attack.epsilon)")
        }
        // The worst case at 0.05 is no better than any attack at 0.05.
        let worst = try #require(report.worstCase.first { $0.epsilon == 0.05 })
        #expect(report.attacks.filter { $0.epsilon == 0.05 }.allSatisfy { worst.robustAccuracy <= $0.robustAccuracy })
        let verdict = try #require(report.verdict)
        #expect(verdict.result == (verdict.lowestRobustAccuracy < 0.5 ? "FAIL" : "PASS"))
        // The gallery holds fooled examples of the last cell, within its budget.
        #expect(!report.gallery.isEmpty && report.gallery.allSatisfy { $0.attack == "pgd" && $0.epsilon == 0.1 })
        for entry in report.gallery {
            #expect(entry.image.prediction != entry.image.label)
            let size = zip(entry.image.clean, entry.image.adversarial).map { abs($0 - $1) }.max() ?? 1
            #expect(size <= 0.1 + 1e-6)
        }
        // A sound model raises no flag; the JSON round-trips; the Markdown has the table and the verdict.
        #expect(report.flags.isEmpty, "\(report.flags.map(\.id))")
        let json = try JSONEncoder().encode(report)
        let decoded = try JSONDecoder().decode(AuditReport.self, from: json)
        #expect(decoded.attacks.map(\.robust) == report.attacks.map(\.robust))
        let markdown = report.markdown()
        #expect(markdown.contains("| pgd | 0.1 | 10 |") && markdown.contains("## Verdict: \(verdict.result)"))
    }

    @Test func theStepsCurveRunsOnItsSubset() async throws {
        let model = TestModel(seed: 9)
        let examples = model.examples(40)
        let plan = AuditPlan(
            norm: .linf,
            cells: [PGD(.linf, epsilon: 0.1, steps: 10)],
            batchSize: 8,
            seed: 42,
            curve: AuditPlan.stepsCurve(norm: .linf, epsilons: [0.05, 0.1], steps: [0, 1, 5, 20]),
            curveExamples: 14
        )
        #expect(plan.curve.count == 6)
        let state = try await AuditRunner(model: model, examples: examples, plan: plan)
            .run(state: AuditState(cells: plan.allCells.count))
        #expect(state.outcomes.map(\.count) == [40, 14, 14, 14, 14, 14, 14])
        let report = AuditReport(plan: plan, examples: examples, state: state, context: Self.context)
        #expect(report.stepsCurveExamples == 14)
        #expect(report.stepsCurve.map(\.steps) == [0, 1, 5, 20, 0, 1, 5, 20])
        // Steps 0 is the clean accuracy of the 14 examples (positions 3 and 10 are clean errors).
        #expect(abs(report.stepsCurve[0].robustAccuracy - 12.0 / 14) < 1e-12)
        #expect(report.attacks.count == 1)
        #expect(report.markdown().contains("Robust accuracy vs PGD steps (first 14 examples)"))
    }
}
