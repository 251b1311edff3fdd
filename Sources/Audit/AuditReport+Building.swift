import Attacks

/// What the report needs beyond the plan and the state.
public struct AuditContext: Sendable {
    public var rkdVersion: String
    public var model: AuditReport.ModelInfo
    public var dataName: String
    public var split: String
    public var classCount: Int
    public var failUnder: Double?
    /// A note on how the logits were obtained when the model outputs probabilities, if it does.
    public var probabilityOutputNote: String?

    public init(
        rkdVersion: String,
        model: AuditReport.ModelInfo,
        dataName: String,
        split: String,
        classCount: Int,
        failUnder: Double? = nil,
        probabilityOutputNote: String? = nil
    ) {
        self.rkdVersion = rkdVersion
        self.model = model
        self.dataName = dataName
        self.split = split
        self.classCount = classCount
        self.failUnder = failUnder
        self.probabilityOutputNote = probabilityOutputNote
    }
}

extension AuditReport {
    /// Builds the report of a completed audit.
    /// - Precondition: `state.isComplete(examples: examples.count)`.
    public init(plan: AuditPlan, examples: AuditExamples, state: AuditState, context: AuditContext) {
        precondition(state.isComplete(plan: plan, examples: examples.count), "AuditReport: the audit is not complete")
        let n = examples.count
        let clean = state.cleanPredictions ?? []
        let correct = (0..<n).filter { clean[$0] == examples.labels[$0] }.count
        let epsilons = plan.cells.map(\.threat.epsilon).reduce(into: [Float]()) {
            if !$0.contains($1) { $0.append($1) }
        }
        var summaries: [AttackSummary] = []
        for (c, attack) in plan.cells.enumerated() {
            let outcomes = state.outcomes[c]
            let robust = outcomes.filter { !$0.fooled }.count
            let byAttack = outcomes.filter { $0.fooled && $0.by != "clean" }
            let perClass: [Double?] = (0..<context.classCount).map { k in
                let members = (0..<n).filter { examples.labels[$0] == k }
                guard !members.isEmpty else { return nil }
                return Double(members.filter { !outcomes[$0].fooled }.count) / Double(members.count)
            }
            var fooledBy: [String: Int] = [:]
            for outcome in outcomes where outcome.fooled { fooledBy[outcome.by, default: 0] += 1 }
            let interval = wilsonInterval(successes: robust, trials: n)
            let attacked = outcomes.filter { $0.by != "clean" }
            summaries.append(
                AttackSummary(
                    name: attack.name,
                    norm: attack.threat.norm.rawValue,
                    epsilon: attack.threat.epsilon,
                    steps: attack.settings["steps"].flatMap { Int($0) },
                    settings: attack.settings,
                    robustAccuracy: Double(robust) / Double(max(n, 1)),
                    ci95: [interval.lowerBound, interval.upperBound],
                    successRate: correct > 0 ? Double(byAttack.count) / Double(correct) : 0,
                    perClass: perClass,
                    perturbation: Statistics(byAttack.map { Double(plan.norm == .linf ? $0.linf : $0.l2) }),
                    queries: Statistics(attacked.map { Double($0.queries) }),
                    seconds: state.seconds[c],
                    imagesPerSecond: state.seconds[c] > 0 ? Double(n) / state.seconds[c] : 0,
                    fooledBy: fooledBy,
                    robust: String(outcomes.map { $0.fooled ? "0" : "1" })
                )
            )
        }
        let worst = epsilons.map { eps -> WorstCase in
            let cells = plan.cells.indices.filter { plan.cells[$0].threat.epsilon == eps }
            let robust = (0..<n).filter { i in cells.allSatisfy { !state.outcomes[$0][i].fooled } }.count
            let interval = wilsonInterval(successes: robust, trials: n)
            return WorstCase(
                epsilon: eps,
                robustAccuracy: Double(robust) / Double(max(n, 1)),
                ci95: [interval.lowerBound, interval.upperBound]
            )
        }
        let cleanInterval = wilsonInterval(successes: correct, trials: n)
        self.init(
            rkdVersion: context.rkdVersion,
            model: context.model,
            data: DataInfo(
                name: context.dataName,
                split: context.split,
                count: n,
                indices: examples.indices,
                classNames: examples.classNames
            ),
            norm: plan.norm.rawValue,
            epsilons: epsilons,
            seed: plan.seed,
            batchSize: plan.batchSize,
            cleanAccuracy: Double(correct) / Double(max(n, 1)),
            cleanCI95: [cleanInterval.lowerBound, cleanInterval.upperBound],
            attacks: summaries,
            worstCase: worst,
            flags: [],
            verdict: nil,
            gallery: [],
            stepsCurve: []
        )
        if !plan.curve.isEmpty {
            let m = min(plan.curveExamples, n)
            var points: [CurvePoint] = []
            for eps in plan.curve.map(\.threat.epsilon).reduce(
                into: [Float](),
                { if !$0.contains($1) { $0.append($1) } }
            ) {
                let cleanCorrect = (0..<m).filter { clean[$0] == examples.labels[$0] }.count
                let cleanInterval = wilsonInterval(successes: cleanCorrect, trials: m)
                points.append(
                    CurvePoint(
                        epsilon: eps,
                        steps: 0,
                        robustAccuracy: Double(cleanCorrect) / Double(max(m, 1)),
                        ci95: [cleanInterval.lowerBound, cleanInterval.upperBound]
                    )
                )
                for (k, attack) in plan.curve.enumerated() where attack.threat.epsilon == eps {
                    let outcomes = state.outcomes[plan.cells.count + k]
                    let robust = outcomes.filter { !$0.fooled }.count
                    let interval = wilsonInterval(successes: robust, trials: m)
                    points.append(
                        CurvePoint(
                            epsilon: eps,
                            steps: attack.settings["steps"].flatMap { Int($0) } ?? 0,
                            robustAccuracy: Double(robust) / Double(max(m, 1)),
                            ci95: [interval.lowerBound, interval.upperBound]
                        )
                    )
                }
            }
            stepsCurve = points
            stepsCurveExamples = m
        }
        if let last = plan.cells.indices.last(where: { !state.gallery[$0].isEmpty }) {
            gallery = state.gallery[last].map {
                GalleryEntry(attack: plan.cells[last].name, epsilon: plan.cells[last].threat.epsilon, image: $0)
            }
        }
        flags = ReliabilityChecks.run(
            report: self,
            state: state,
            examples: n,
            dimension: examples.exampleShape.reduce(1, *),
            context: context
        )
        if let failUnder = context.failUnder {
            let lowest = summaries.map(\.robustAccuracy).min() ?? cleanAccuracy
            verdict = Verdict(
                failUnder: failUnder,
                lowestRobustAccuracy: lowest,
                result: lowest < failUnder ? "FAIL" : "PASS"
            )
        }
    }
}
