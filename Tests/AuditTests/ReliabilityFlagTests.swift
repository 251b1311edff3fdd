import Attacks
import Audit
import Testing

/// Each flag fires on a model (or an outcome) crafted to trigger it and stays quiet on a sound one.
@Suite("Reliability flags")
struct ReliabilityFlagTests {
    static func flags(for model: TestModel, cells: [any Attack], note: String? = nil) async throws -> [String] {
        let examples = TestModel(seed: 9).examples(21)
        let plan = AuditPlan(norm: cells[0].threat.norm, cells: cells, batchSize: 7, seed: 1)
        let state = try await AuditRunner(model: model, examples: examples, plan: plan).run(
            state: AuditState(cells: cells.count)
        )
        var context = AuditRunnerTests.context
        context.probabilityOutputNote = note
        return AuditReport(plan: plan, examples: examples, state: state, context: context).flags.map(\.id)
    }

    static let cheap: [any Attack] = [PGD(.linf, epsilon: 0.05, steps: 5)]

    @Test func soundModelRaisesNone() async throws {
        #expect(try await Self.flags(for: TestModel(seed: 9), cells: Self.cheap).isEmpty)
    }

    @Test func randomisedForwardPass() async throws {
        #expect(
            try await Self.flags(for: TestModel(seed: 9, defect: .randomised), cells: Self.cheap).contains(
                "non-deterministic-forward"
            )
        )
    }

    @Test func batchStatisticsAtEvaluation() async throws {
        #expect(
            try await Self.flags(for: TestModel(seed: 9, defect: .batchStatistics), cells: Self.cheap).contains(
                "batch-dependent-forward"
            )
        )
    }

    @Test func probabilityOutput() async throws {
        let ids = try await Self.flags(for: TestModel(seed: 9), cells: Self.cheap, note: "the model ends in Softmax")
        #expect(ids == ["probability-output"])
    }

    /// A quantised input layer: zero gradients, so PGD fails where the black-box square attack
    /// succeeds, and PGD at a budget covering the whole range stays above chance.
    @Test func maskedGradients() async throws {
        let ids = try await Self.flags(
            for: TestModel(seed: 9, defect: .quantised),
            cells: [
                FGSM(epsilon: 0.2), PGD(.linf, epsilon: 0.2, steps: 5), Square(.linf, epsilon: 0.2, queries: 200),
                PGD(.linf, epsilon: 1, steps: 5, randomStart: false),
            ]
        )
        #expect(ids.contains("degenerate-gradients"))
        #expect(ids.contains("square-beats-white-box"))
        #expect(ids.contains("full-range-above-chance"))
    }

    /// Outcomes that a sound attack cannot produce: more robust at a larger budget, FGSM beating PGD.
    @Test func inconsistentOutcomes() async throws {
        let examples = TestModel(seed: 9).examples(10)
        let cells: [any Attack] = [
            FGSM(epsilon: 0.1), PGD(.linf, epsilon: 0.1, steps: 5), PGD(.linf, epsilon: 0.2, steps: 5),
        ]
        let plan = AuditPlan(norm: .linf, cells: cells, batchSize: 10, seed: 1)
        var state = AuditState(cells: 3)
        state.cleanPredictions = examples.labels
        state.deterministic = true
        state.batchDependent = false
        state.degenerateGradients = 0
        let outcome = { (fooled: Bool, by: String) in
            ExampleOutcome(fooled: fooled, prediction: 0, queries: 1, linf: 0.1, l2: 0.1, by: fooled ? by : "")
        }
        state.outcomes = [
            (0..<10).map { outcome($0 < 8, "fgsm") },  // FGSM: 20 % robust
            (0..<10).map { outcome($0 < 5, "pgd") },  // PGD: 50 % robust
            (0..<10).map { outcome($0 < 3, "pgd") },  // PGD at twice the budget: 70 % robust
        ]
        let report = AuditReport(plan: plan, examples: examples, state: state, context: AuditRunnerTests.context)
        let ids = report.flags.map(\.id)
        #expect(ids.contains("accuracy-rises-with-epsilon") && ids.contains("fgsm-stronger-than-pgd"), "\(ids)")
        for flag in report.flags {
            #expect(!flag.finding.isEmpty && !flag.meaning.isEmpty && !flag.action.isEmpty)
        }
    }

    /// A steps curve where more PGD iterations leave more examples standing.
    @Test func accuracyRisingWithSteps() async throws {
        let examples = TestModel(seed: 9).examples(10)
        let plan = AuditPlan(
            norm: .linf,
            cells: [PGD(.linf, epsilon: 0.1, steps: 5)],
            batchSize: 10,
            seed: 1,
            curve: AuditPlan.stepsCurve(norm: .linf, epsilons: [0.1], steps: [0, 5, 50]),
            curveExamples: 10
        )
        var state = AuditState(cells: 3)
        state.cleanPredictions = examples.labels
        state.deterministic = true
        state.batchDependent = false
        state.degenerateGradients = 0
        let outcome = { (fooled: Bool) in
            ExampleOutcome(fooled: fooled, prediction: 0, queries: 1, linf: 0.1, l2: 0.1, by: fooled ? "pgd" : "")
        }
        state.outcomes = [
            (0..<10).map { outcome($0 < 6) },
            (0..<10).map { outcome($0 < 6) },  // 5 steps: 40 % robust
            (0..<10).map { outcome($0 < 2) },  // 50 steps: 80 % robust
        ]
        let report = AuditReport(plan: plan, examples: examples, state: state, context: AuditRunnerTests.context)
        #expect(report.flags.map(\.id) == ["accuracy-rises-with-steps"])
        // The same curve falling with steps raises nothing.
        state.outcomes[2] = (0..<10).map { outcome($0 < 9) }
        let sound = AuditReport(plan: plan, examples: examples, state: state, context: AuditRunnerTests.context)
        #expect(sound.flags.isEmpty, "\(sound.flags.map(\.id))")
    }
}
