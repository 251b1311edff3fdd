import Foundation

/// Two audits of one model, before and after a change of its weights (hardening), with the same attacks
/// on the same examples: the per-attack robust accuracy side by side, as Markdown and as a
/// self-contained HTML page with a before/after bar chart, and the reliability flags of the "after"
/// audit in full (distillation on clean data is where gradient masking can fake robustness).
public struct AuditComparison: Sendable {
    public var title: String
    /// Lines about what changed (method, teacher, settings, training time), as (label, value).
    public var facts: [(String, String)]
    public var before: AuditReport
    public var after: AuditReport

    public init(title: String, facts: [(String, String)], before: AuditReport, after: AuditReport) {
        self.title = title
        self.facts = facts
        self.before = before
        self.after = after
    }

    /// One row per attack and budget: name, ε, before, after.
    public var rows: [(name: String, epsilon: Float, before: Double, after: Double)] {
        var out: [(String, Float, Double, Double)] = [("clean", 0, before.cleanAccuracy, after.cleanAccuracy)]
        for a in after.attacks {
            let b = before.attacks.first { $0.name == a.name && $0.epsilon == a.epsilon }
            out.append((a.name, a.epsilon, b?.robustAccuracy ?? .nan, a.robustAccuracy))
        }
        for w in after.worstCase {
            let b = before.worstCase.first { $0.epsilon == w.epsilon }
            out.append(("worst case", w.epsilon, b?.robustAccuracy ?? .nan, w.robustAccuracy))
        }
        return out
    }

    static func percent(_ x: Double) -> String { x.isFinite ? String(format: "%.1f %%", 100 * x) : "–" }

    public func markdown() -> String {
        var out = "# \(title)\n\n"
        for (label, value) in facts { out += "- \(label): \(value)\n" }
        out += "\n| attack | ε | before | after | change |\n| --- | ---: | ---: | ---: | ---: |\n"
        for row in rows {
            let change = row.before.isFinite ? String(format: "%+.1f", 100 * (row.after - row.before)) : "–"
            out += "| \(row.name) | \(row.name == "clean" ? "–" : "\(row.epsilon)") | \(Self.percent(row.before)) "
            out += "| \(Self.percent(row.after)) | \(change) |\n"
        }
        out += "\nBoth audits ran the same attacks with the same seed on the same \(after.data.count) "
        out +=
            "\(after.data.name) \(after.data.split) examples; the full reports are report-before.* and report-after.*.\n"
        out += "\n## Reliability flags of the hardened model\n\n"
        if after.flags.isEmpty {
            out += "None fired.\n"
        } else {
            for flag in after.flags {
                out += "- **\(flag.id)** (\(flag.severity)): \(flag.finding) \(flag.meaning) \(flag.action)\n"
            }
        }
        return out
    }

    /// Robust accuracy against ε per attack, before (thin) and after (thick, dashed), with 95 % intervals.
    func curves() -> SVGLinePlot {
        var names: [String] = []
        for attack in after.attacks where !names.contains(attack.name) { names.append(attack.name) }
        var series: [SVGLinePlot.Series] = []
        for (index, name) in names.enumerated() {
            for (report, label) in [(before, "before"), (after, "after")] {
                let points = report.attacks.filter { $0.name == name }.map { attack in
                    SVGLinePlot.Point(
                        x: Double(attack.epsilon),
                        y: attack.robustAccuracy,
                        low: attack.ci95.first ?? attack.robustAccuracy,
                        high: attack.ci95.last ?? attack.robustAccuracy
                    )
                }
                guard !points.isEmpty else { continue }
                series.append(
                    .init(
                        name: "\(name) \(label)",
                        colour: SVGMarkup.colour(index),
                        points: points,
                        emphasised: label == "after"
                    )
                )
            }
        }
        return SVGLinePlot(
            title: "Robust accuracy vs ε, before and after",
            xLabel: "ε (\(after.norm == "l2" ? "L2" : "L∞") budget)",
            yLabel: "robust accuracy",
            series: series,
            reference: ("clean accuracy after", after.cleanAccuracy)
        )
    }

    public func html() -> String {
        let e = SVGMarkup.escape
        var out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        out +=
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        out += "<title>\(e(title))</title>\n<style>\(AuditReport.stylesheet)</style>\n</head>\n<body>\n<main>\n"
        out += "<header>\n<h1>\(e(title))</h1>\n<dl class=\"meta\">\n"
        for (label, value) in facts { out += "<dt>\(e(label))</dt><dd>\(e(value))</dd>\n" }
        out += "</dl>\n</header>\n<h2>Before and after</h2>\n<table>\n"
        out +=
            "<thead><tr><th>attack</th><th>ε</th><th>before</th><th>after</th><th>change</th></tr></thead>\n<tbody>\n"
        for row in rows {
            let change = row.before.isFinite ? String(format: "%+.1f", 100 * (row.after - row.before)) : "–"
            out += "<tr><td>\(e(row.name))</td><td>\(row.name == "clean" ? "–" : "\(row.epsilon)")</td>"
            out +=
                "<td>\(Self.percent(row.before))</td><td><b>\(Self.percent(row.after))</b></td><td>\(change)</td></tr>\n"
        }
        out += "</tbody>\n</table>\n"
        let chart = SVGBarChart(
            title: "Accuracy before and after",
            yLabel: "accuracy",
            groups: rows.map { $0.name == "clean" ? "clean" : "\($0.name) ε=\($0.epsilon)" },
            series: [
                .init(
                    name: "before",
                    colour: SVGMarkup.colour(1),
                    values: rows.map { $0.before.isFinite ? $0.before : nil }
                ),
                .init(name: "after", colour: SVGMarkup.colour(0), values: rows.map { $0.after }),
            ]
        )
        out += "<figure>\(chart.svg())</figure>\n"
        out += "<figure>\(curves().svg())</figure>\n"
        out += "<h2>Reliability flags of the hardened model</h2>\n"
        if after.flags.isEmpty {
            out += "<p>None fired.</p>\n"
        } else {
            out += "<ul>\n"
            for flag in after.flags {
                out +=
                    "<li><b>\(e(flag.id))</b> (\(e(flag.severity))): \(e(flag.finding)) \(e(flag.meaning)) \(e(flag.action))</li>\n"
            }
            out += "</ul>\n"
        }
        out += "<p>Both audits ran the same attacks with the same seed on the same \(after.data.count) "
        out += "\(e(after.data.name)) \(e(after.data.split)) examples; the full reports are report-before.html and "
        out += "report-after.html.</p>\n"
        return out
            + "<footer>rkd \(e(after.rkdVersion)). A self-contained page: no script, no external resource.</footer>\n</main>\n</body>\n</html>\n"
    }
}
