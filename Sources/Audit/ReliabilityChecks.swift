import Foundation

/// The checks an audit runs on itself (after auto-attack's `checks.py` and `flags_doc.md`, and the
/// field's usual signs of gradient masking); each that fires becomes a ``ReliabilityFlag``.
enum ReliabilityChecks {
    static let whiteBox: Set<String> = ["fgsm", "pgd", "mi-fgsm", "cw-l2", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t"]

    static func run(
        report: AuditReport,
        state: AuditState,
        examples n: Int,
        dimension: Int,
        context: AuditContext
    ) -> [ReliabilityFlag] {
        var flags: [ReliabilityFlag] = []
        let percent = { (x: Double) in String(format: "%.1f %%", 100 * x) }
        if let note = context.probabilityOutputNote {
            flags.append(
                ReliabilityFlag(
                    id: "probability-output",
                    severity: note.contains("log") ? "warning" : "info",
                    finding: note,
                    meaning: "Gradients through a softmax output saturate, which weakens gradient attacks and can "
                        + "make a model look more robust than it is.",
                    action: "Export the model with logits as its output, or check the numbers with the black-box "
                        + "square attack."
                )
            )
        }
        if let degenerate = state.degenerateGradients, n > 0, Double(degenerate) / Double(n) > 0.1 {
            flags.append(
                ReliabilityFlag(
                    id: "degenerate-gradients",
                    severity: "warning",
                    finding: "\(degenerate) of \(n) examples have a zero or non-finite input gradient of the "
                        + "cross-entropy.",
                    meaning: "Gradient attacks cannot move these examples: the robust accuracy of white-box "
                        + "attacks is an overestimate (gradient masking or saturation).",
                    action: "Trust the square attack's and the worst-case numbers, not the gradient attacks'; check "
                        + "the model for non-differentiable layers, quantisation or saturated outputs."
                )
            )
        }
        if state.deterministic == false {
            flags.append(
                ReliabilityFlag(
                    id: "non-deterministic-forward",
                    severity: "warning",
                    finding: "Two forward passes on the same inputs gave different logits.",
                    meaning: "A randomised model defeats gradient attacks by noise; single-run robust accuracy "
                        + "overestimates its robustness.",
                    action: "Audit the model without randomness (evaluation mode), or with an expectation over "
                        + "transformations."
                )
            )
        }
        if state.batchDependent == true {
            flags.append(
                ReliabilityFlag(
                    id: "batch-dependent-forward",
                    severity: "warning",
                    finding: "An example's logits changed when it ran alone instead of in its batch.",
                    meaning: "The model uses batch statistics at evaluation (batch norm or dropout in training "
                        + "mode), so results depend on the batch.",
                    action: "Export the model in evaluation mode (model.eval() before export)."
                )
            )
        }
        // Per budget: Square fooled examples no white-box attack did.
        for eps in report.epsilons {
            let cells = report.attacks.indices.filter { report.attacks[$0].epsilon == eps }
            var squareOnly = 0
            for i in 0..<n {
                var byWhiteBox = false
                var bySquare = false
                for c in cells {
                    let outcome = state.outcomes[c][i]
                    guard outcome.fooled, outcome.by != "clean" else { continue }
                    if outcome.by == "square" {
                        bySquare = true
                    } else if whiteBox.contains(outcome.by) {
                        byWhiteBox = true
                    }
                }
                if bySquare && !byWhiteBox { squareOnly += 1 }
            }
            if squareOnly > 0 {
                flags.append(
                    ReliabilityFlag(
                        id: "square-beats-white-box",
                        severity: "warning",
                        finding: "At ε = \(eps) the black-box square attack fooled \(squareOnly) examples that every "
                            + "white-box attack run failed on.",
                        meaning: "A black-box attack beating gradient attacks is the classic sign of gradient "
                            + "masking: gradient-based numbers for this model are not trustworthy.",
                        action: "Report the worst case (which includes square) and investigate the model's "
                            + "gradients; do not quote PGD alone."
                    )
                )
            }
        }
        // Robust accuracy should not rise with ε for the same attack.
        let byName = Dictionary(grouping: report.attacks, by: \.name)
        for (name, summaries) in byName.sorted(by: { $0.key < $1.key }) {
            let sorted = summaries.sorted { $0.epsilon < $1.epsilon }
            for (a, b) in zip(sorted, sorted.dropFirst()) where b.robustAccuracy > a.robustAccuracy + 0.01 {
                flags.append(
                    ReliabilityFlag(
                        id: "accuracy-rises-with-epsilon",
                        severity: "warning",
                        finding: "\(name): robust accuracy \(percent(a.robustAccuracy)) at ε = \(a.epsilon) but "
                            + "\(percent(b.robustAccuracy)) at the larger ε = \(b.epsilon).",
                        meaning: "A larger budget contains every smaller one, so a sound attack cannot do worse: "
                            + "the attack is not converging (too few steps, bad step size) or gradients are masked.",
                        action: "Raise the attack's steps or restarts, and rely on the worst case over attacks."
                    )
                )
            }
        }
        // Robust accuracy should not rise with PGD's iterations (the steps curve).
        for eps in Set(report.stepsCurve.map(\.epsilon)).sorted() {
            let points = report.stepsCurve.filter { $0.epsilon == eps }.sorted { $0.steps < $1.steps }
            for (a, b) in zip(points, points.dropFirst()) where b.robustAccuracy > a.robustAccuracy + 0.01 {
                flags.append(
                    ReliabilityFlag(
                        id: "accuracy-rises-with-steps",
                        severity: "warning",
                        finding:
                            "PGD at ε = \(eps): robust accuracy \(percent(a.robustAccuracy)) after \(a.steps) steps "
                            + "but \(percent(b.robustAccuracy)) after \(b.steps).",
                        meaning: "More iterations of a sound attack cannot leave more examples standing (beyond the "
                            + "noise of its step size): the loss surface is masked or the attack diverges.",
                        action: "Use apgd-ce (adaptive step size) and autoattack, and check the model's gradients."
                    )
                )
            }
        }
        // An ε that covers the whole input range leaves nothing robust beyond chance.
        let chance = 1 / Double(max(context.classCount, 1))
        for summary in report.attacks {
            let covers =
                summary.norm == "linf" ? summary.epsilon >= 1 : summary.epsilon >= Float(dimension).squareRoot()
            if covers && summary.robustAccuracy > chance + 0.05 {
                flags.append(
                    ReliabilityFlag(
                        id: "full-range-above-chance",
                        severity: "warning",
                        finding:
                            "\(summary.name) at ε = \(summary.epsilon), which covers the whole input range, leaves "
                            + "\(percent(summary.robustAccuracy)) accuracy (chance is \(percent(chance))).",
                        meaning: "Such a budget can turn any image into any other; an attack that fails there is "
                            + "broken or blocked by masked gradients.",
                        action: "Do not trust this attack's numbers for this model; check with square and autoattack."
                    )
                )
            }
        }
        // FGSM (one step) should never beat PGD (many) at the same budget.
        for pgd in report.attacks where pgd.name == "pgd" {
            for fgsm in report.attacks
            where fgsm.name == "fgsm" && fgsm.epsilon == pgd.epsilon && fgsm.robustAccuracy + 0.01 < pgd.robustAccuracy
            {
                flags.append(
                    ReliabilityFlag(
                        id: "fgsm-stronger-than-pgd",
                        severity: "warning",
                        finding: "At ε = \(pgd.epsilon) FGSM leaves \(percent(fgsm.robustAccuracy)) robust but PGD "
                            + "\(percent(pgd.robustAccuracy)).",
                        meaning: "One step beating many means PGD is not converging: its step size or steps are "
                            + "wrong for this model, or the loss surface is masked.",
                        action: "Raise PGD's steps, use apgd-ce (no step size to tune), and rely on autoattack."
                    )
                )
            }
        }
        return flags
    }
}
