import Foundation

extension AuditReport {
    /// The report as Markdown: settings, the results table, the worst case, the flags and the verdict.
    public func markdown() -> String {
        let pct = { (x: Double) in String(format: "%.1f %%", 100 * x) }
        var out = "# Robustness audit\n\n"
        out += "- model: `\(model.name)` (sha256 `\(model.digest)`), output: \(model.outputKind)\n"
        out += "- data: \(data.name) (\(data.split)), \(data.count) examples\n"
        out +=
            "- threat model: \(norm == "linf" ? "L∞" : "L2"), ε ∈ {\(epsilons.map { "\($0)" }.joined(separator: ", "))}\n"
        out += "- seed: \(seed); rkd \(rkdVersion); schema \(schema)\n"
        out += "- clean accuracy: \(pct(cleanAccuracy)) (95 % CI \(pct(cleanCI95[0]))–\(pct(cleanCI95[1])))\n\n"
        out += "## Results\n\n"
        out +=
            "| attack | ε | steps | robust accuracy | 95 % CI | success rate | median ‖δ‖ | queries (mean) | seconds | images/s |\n"
        out += "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
        for a in attacks {
            out += "| \(a.name) | \(a.epsilon) | \(a.steps.map(String.init) ?? "–") | \(pct(a.robustAccuracy)) | "
            out += "\(pct(a.ci95[0]))–\(pct(a.ci95[1])) | \(pct(a.successRate)) | "
            out +=
                String(format: "%.4f", a.perturbation.median) + " | " + String(format: "%.0f", a.queries.mean) + " | "
            out += String(format: "%.1f", a.seconds) + " | " + String(format: "%.1f", a.imagesPerSecond) + " |\n"
        }
        out += "\n## Worst case over all attacks\n\n| ε | robust accuracy | 95 % CI |\n| --- | --- | --- |\n"
        for w in worstCase {
            out += "| \(w.epsilon) | \(pct(w.robustAccuracy)) | \(pct(w.ci95[0]))–\(pct(w.ci95[1])) |\n"
        }
        if !stepsCurve.isEmpty {
            out += "\n## Robust accuracy vs PGD steps (first \(stepsCurveExamples ?? 0) examples)\n\n"
            out += "| ε | steps | robust accuracy | 95 % CI |\n| --- | --- | --- | --- |\n"
            for p in stepsCurve {
                out +=
                    "| \(p.epsilon) | \(p.steps) | \(pct(p.robustAccuracy)) | \(pct(p.ci95[0]))–\(pct(p.ci95[1])) |\n"
            }
        }
        out += "\n## Reliability flags\n\n"
        if flags.isEmpty {
            out += "None fired: no sign of gradient masking, randomness or batch dependence was seen.\n"
        }
        for flag in flags {
            out += "- **\(flag.id)** (\(flag.severity)): \(flag.finding) \(flag.meaning) *What to do:* \(flag.action)\n"
        }
        if let verdict {
            out += "\n## Verdict: \(verdict.result)\n\nLowest robust accuracy \(pct(verdict.lowestRobustAccuracy)); "
            out += "pass mark \(pct(verdict.failUnder)).\n"
        }
        out += "\n## Attack settings\n\n"
        for a in attacks {
            let settings = a.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            out += "- \(a.name) @ ε = \(a.epsilon): \(settings)\n"
        }
        return out
    }
}
