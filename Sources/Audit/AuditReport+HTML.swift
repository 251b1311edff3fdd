import Foundation

extension AuditReport {
    /// The report as one self-contained HTML page: the settings, the verdict, the results table, a plot
    /// of robust accuracy against ε with 95 % bands, per-class robust accuracy at the largest ε, the
    /// adversarial examples, the reliability flags and every attack's settings. Styles and pictures are
    /// inline (CSS and SVG) and the page has no script and no link to anything, so it opens offline and
    /// a content security policy forbids it to load anything at all.
    public func html() -> String {
        let title = "Robustness audit: \(model.name)"
        var out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        out +=
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        out += "<title>\(SVGMarkup.escape(title))</title>\n<style>\(Self.stylesheet)</style>\n</head>\n<body>\n<main>\n"
        out += htmlHeader()
        out += htmlVerdict()
        out += htmlResults()
        out += "<h2>Robust accuracy against the budget</h2>\n" + htmlAccuracyPlot() + "\n"
        out += htmlStepsCurve()
        out += htmlPerClass()
        out += htmlGallery()
        out += htmlFlags()
        out += htmlSettings()
        out += "<footer>rkd \(SVGMarkup.escape(rkdVersion)), schema \(SVGMarkup.escape(schema)). "
        out += "A self-contained page: no script, no external resource.</footer>\n"
        return out + "</main>\n</body>\n</html>\n"
    }

    private var normName: String {
        switch norm {
        case "linf": "L∞"
        case "l2": "L2"
        default: norm
        }
    }

    /// The interval as "a–b", or "–" when it is not a pair.
    private func interval(_ ci: [Double]) -> String {
        ci.count == 2 ? "\(SVGMarkup.percent(ci[0]))–\(SVGMarkup.percent(ci[1]))" : "–"
    }

    /// A class's index with its name, when the data set names its classes.
    private func className(_ k: Int) -> String {
        k >= 0 && k < data.classNames.count ? "\(k) (\(data.classNames[k]))" : "\(k)"
    }

    /// A stable colour per attack name, in the order the attacks ran.
    private var attackColours: [String: String] {
        var colours: [String: String] = [:]
        for a in attacks where colours[a.name] == nil { colours[a.name] = SVGMarkup.colour(colours.count) }
        return colours
    }

    private func htmlHeader() -> String {
        let e = SVGMarkup.escape
        let rows: [(String, String)] = [
            ("Model", "<code>\(e(model.name))</code> (output: \(e(model.outputKind)))"),
            ("SHA-256", "<code class=\"digest\">\(e(model.digest))</code>"),
            ("Data", "\(e(data.name)), split <b>\(e(data.split))</b>, \(data.count) examples"),
            ("Threat model", "\(e(normName)), ε ∈ {\(e(epsilons.map { "\($0)" }.joined(separator: ", ")))}"),
            ("Seed", "\(seed) (batch size \(batchSize))"),
            ("rkd", "\(e(rkdVersion)) (schema \(e(schema)))"),
            ("Clean accuracy", "<b>\(SVGMarkup.percent(cleanAccuracy))</b> (95 % CI \(interval(cleanCI95)))"),
        ]
        var out = "<header>\n<h1>Robustness audit</h1>\n<dl class=\"meta\">\n"
        for (key, value) in rows { out += "<dt>\(key)</dt><dd>\(value)</dd>\n" }
        return out + "</dl>\n</header>\n"
    }

    private func htmlVerdict() -> String {
        guard let verdict else { return "" }
        let pass = verdict.result == "PASS"
        var out = "<section class=\"verdict \(pass ? "pass" : "fail")\" role=\"status\">"
        out += "<span class=\"verdict-word\">\(SVGMarkup.escape(verdict.result))</span> "
        out += "lowest robust accuracy \(SVGMarkup.percent(verdict.lowestRobustAccuracy)) against a pass mark of "
        return out + "\(SVGMarkup.percent(verdict.failUnder))</section>\n"
    }

    private func htmlResults() -> String {
        let e = SVGMarkup.escape
        let percent = SVGMarkup.percent
        var out = "<h2>Results</h2>\n<table class=\"results\">\n<thead><tr><th>attack</th><th>ε</th><th>steps</th>"
        out += "<th>robust accuracy</th><th>95 % CI</th><th>success rate</th><th>median ‖δ‖</th>"
        out += "<th>queries (mean)</th><th>seconds</th><th>images/s</th></tr></thead>\n<tbody>\n"
        for a in attacks {
            let cells = [
                e(a.name), "\(a.epsilon)", a.steps.map(String.init) ?? "–", percent(a.robustAccuracy), interval(a.ci95),
                percent(a.successRate), String(format: "%.4f", a.perturbation.median),
                String(format: "%.0f", a.queries.mean), String(format: "%.1f", a.seconds),
                String(format: "%.1f", a.imagesPerSecond),
            ]
            out += "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        out += "</tbody>\n</table>\n<h3>Worst case over all attacks</h3>\n<table class=\"worst\">\n"
        out += "<thead><tr><th>ε</th><th>robust accuracy</th><th>95 % CI</th></tr></thead>\n<tbody>\n"
        for w in worstCase {
            out += "<tr><td>\(w.epsilon)</td><td>\(percent(w.robustAccuracy))</td><td>\(interval(w.ci95))</td></tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    /// A plot point; a Float budget goes through its shortest decimal, so that 0.1 is placed at 0.1, not
    /// at 0.100000001.
    private func point(_ x: Float, _ y: Double, _ ci: [Double]) -> SVGLinePlot.Point {
        SVGLinePlot.Point(
            x: Double("\(x)") ?? Double(x),
            y: y,
            low: ci.count == 2 ? ci[0] : y,
            high: ci.count == 2 ? ci[1] : y
        )
    }

    private func htmlAccuracyPlot() -> String {
        let colours = attackColours
        var names: [String] = []
        for a in attacks where !names.contains(a.name) { names.append(a.name) }
        var series = names.map { name in
            SVGLinePlot.Series(
                name: name,
                colour: colours[name] ?? "#888",
                points: attacks.filter { $0.name == name }.map { point($0.epsilon, $0.robustAccuracy, $0.ci95) }
            )
        }
        series.append(
            SVGLinePlot.Series(
                name: "worst case",
                colour: "#1d2330",
                points: worstCase.map { point($0.epsilon, $0.robustAccuracy, $0.ci95) },
                emphasised: true
            )
        )
        return SVGLinePlot(
            title: "Robust accuracy vs ε (\(normName))",
            xLabel: "ε (\(normName) budget)",
            yLabel: "robust accuracy",
            series: series,
            reference: ("clean accuracy", cleanAccuracy)
        ).svg()
    }

    private func htmlStepsCurve() -> String {
        guard !stepsCurve.isEmpty else { return "" }
        var budgets: [Float] = []
        for p in stepsCurve where !budgets.contains(p.epsilon) { budgets.append(p.epsilon) }
        let series = budgets.enumerated().map { i, eps in
            SVGLinePlot.Series(
                name: "ε = \(eps)",
                colour: SVGMarkup.colour(i),
                points: stepsCurve.filter { $0.epsilon == eps }.map {
                    point(Float($0.steps), $0.robustAccuracy, $0.ci95)
                }
            )
        }
        let plot = SVGLinePlot(
            title: "Robust accuracy vs PGD steps",
            xLabel: "PGD steps (0: clean)",
            xName: "steps",
            xScale: .ordinal,
            yLabel: "robust accuracy",
            series: series
        )
        var out = "<h2>Robust accuracy against PGD steps</h2>\n\(plot.svg())\n<p class=\"note\">On the first "
        out += "\(stepsCurveExamples ?? 0) examples. A curve still falling at its right end means PGD had not "
        return out + "converged: more steps would find more adversarial examples.</p>\n"
    }

    private func htmlPerClass() -> String {
        guard let largest = attacks.map(\.epsilon).max() else { return "" }
        let entries = attacks.filter { $0.epsilon == largest && $0.perClass.contains { $0 != nil } }
        let classes = entries.map(\.perClass.count).max() ?? 0
        guard classes > 0 else { return "" }
        let colours = attackColours
        var seen: [String: Int] = [:]
        let series = entries.map { a -> SVGBarChart.Series in
            seen[a.name, default: 0] += 1
            let repeated = entries.filter { $0.name == a.name }.count > 1
            return SVGBarChart.Series(
                name: repeated ? "\(a.name) (\(seen[a.name] ?? 1))" : a.name,
                colour: colours[a.name] ?? "#888",
                values: a.perClass
            )
        }
        let chart = SVGBarChart(
            title: "Robust accuracy per class at ε = \(largest)",
            yLabel: "robust accuracy",
            groups: (0..<classes).map(className),
            series: series
        )
        var out = "<h2>Per class at the largest budget</h2>\n<div class=\"scroll\">\(chart.svg())</div>\n"
        out += "<p class=\"note\">Each bar: the share of the class's examples the attack left correctly classified "
        return out + "at ε = \(largest); a class without examples has no bar.</p>\n"
    }

    private func htmlGallery() -> String {
        var out = "<h2>Adversarial examples</h2>\n"
        guard !gallery.isEmpty else {
            return out + "<p>None to show: no attack fooled a correctly classified example.</p>\n"
        }
        out += "<p class=\"note\">Clean image, adversarial image, and their difference amplified five times "
        out += "(mid grey: no change).</p>\n<div class=\"gallery\">\n"
        for entry in gallery {
            let image = entry.image
            let e = SVGMarkup.escape
            out += "<figure class=\"example\">\n<div class=\"triplet\">"
            if let clean = SVGImage(values: image.clean, shape: image.shape),
                let adversarial = SVGImage(values: image.adversarial, shape: image.shape),
                let difference = SVGImage.difference(from: clean, to: adversarial, gain: 5)
            {
                let name = "example \(image.index)"
                for (picture, caption) in [
                    (clean, "clean"), (adversarial, "adversarial"), (difference, "difference ×5"),
                ] {
                    out += "<figure>\(picture.svg(size: 96, label: "\(name), \(caption)"))"
                    out += "<figcaption>\(e(caption))</figcaption></figure>"
                }
            } else {
                out += "<p>The image's shape \(e("\(image.shape)")) does not match its pixels.</p>"
            }
            let size = zip(image.clean, image.adversarial).map { abs($1 - $0) }.max() ?? 0
            out += "</div>\n<figcaption>#\(image.index): \(e(className(image.label))) → "
            out += "\(e(className(image.prediction)))<br>\(e(entry.attack)), ε = \(entry.epsilon), "
            out += "‖δ‖∞ = \(String(format: "%.3f", size.isFinite ? size : 0))</figcaption>\n</figure>\n"
        }
        return out + "</div>\n"
    }

    private func htmlFlags() -> String {
        let e = SVGMarkup.escape
        var out = "<h2>Reliability flags</h2>\n"
        guard !flags.isEmpty else {
            return out + "<p class=\"card\">None fired: no sign of gradient masking, randomness or batch "
                + "dependence was seen.</p>\n"
        }
        for flag in flags {
            let kind = ["warning", "info"].contains(flag.severity) ? flag.severity : "other"
            out += "<section class=\"card flag \(kind)\">\n<p class=\"flag-head\"><code>\(e(flag.id))</code> "
            out += "<span class=\"badge\">\(e(flag.severity))</span></p>\n<p>\(e(flag.finding))</p>\n"
            out += "<p>\(e(flag.meaning))</p>\n<p><strong>What to do: </strong>\(e(flag.action))</p>\n</section>\n"
        }
        return out
    }

    private func htmlSettings() -> String {
        let e = SVGMarkup.escape
        var out = "<h2>Attack settings</h2>\n<table class=\"settings\">\n"
        out += "<thead><tr><th>attack</th><th>ε</th><th>settings</th></tr></thead>\n<tbody>\n"
        for a in attacks {
            let settings = a.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            out += "<tr><td>\(e(a.name))</td><td>\(a.epsilon)</td>"
            out += "<td><code>\(e(settings.joined(separator: ", ")))</code></td></tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    static let stylesheet = """
        body { margin: 0; background: #f5f6f8; color: #1d2330;
          font: 15px/1.45 system-ui, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 1120px; margin: 0 auto; padding: 20px 28px 40px; }
        h1 { font-size: 26px; margin: 0 0 10px; }
        h2 { font-size: 19px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d5d9e0; }
        h3 { font-size: 16px; margin: 18px 0 8px; }
        .meta { display: grid; grid-template-columns: max-content 1fr; gap: 3px 18px; margin: 0; padding: 12px 16px;
          background: #fff; border: 1px solid #dde1e7; border-radius: 8px; }
        .meta dt { font-weight: 600; color: #4a5263; }
        .meta dd { margin: 0; }
        .digest { word-break: break-all; }
        .verdict { margin: 16px 0 0; padding: 12px 18px; border-radius: 8px; color: #fff; font-size: 17px; }
        .verdict-word { font-size: 24px; font-weight: 800; margin-right: 12px; letter-spacing: 1px; }
        .verdict.pass { background: #2e7d32; }
        .verdict.fail { background: #c62828; }
        table { border-collapse: collapse; width: 100%; background: #fff; font-size: 14px;
          font-variant-numeric: tabular-nums; border: 1px solid #dde1e7; }
        th, td { padding: 5px 10px; border-bottom: 1px solid #e6e9ee; text-align: right; }
        th { background: #eef1f5; font-weight: 600; }
        th:first-child, td:first-child, .settings td, .settings th { text-align: left; }
        .worst { width: auto; min-width: 420px; }
        svg.chart { max-width: 100%; height: auto; background: #fff; border: 1px solid #dde1e7;
          border-radius: 8px; font-size: 12px; }
        svg .grid { stroke: #e4e7ec; stroke-width: 1; }
        svg .axis { stroke: #3c4350; stroke-width: 1.2; }
        svg .reference { stroke: #6b7280; stroke-width: 1.5; stroke-dasharray: 2 4; }
        svg text { fill: #30363f; }
        svg .chart-title { font-size: 16px; font-weight: 600; }
        svg .axis-label { font-size: 13px; }
        .scroll { overflow-x: auto; }
        .note { color: #555d6b; font-size: 13px; }
        .gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 12px; }
        figure { margin: 0; }
        .example { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 10px; }
        .example > figcaption { font-size: 13px; margin-top: 6px; }
        .triplet { display: flex; gap: 8px; }
        .triplet figcaption { font-size: 12px; color: #555d6b; text-align: center; }
        svg.pixels { border: 1px solid #c9ced6; display: block; }
        .card { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 10px 16px; margin: 10px 0; }
        .card p { margin: 4px 0; }
        .flag { border-left: 6px solid #9aa1ad; }
        .flag.warning { border-left-color: #e39b00; }
        .flag.info { border-left-color: #4e79a7; }
        .badge { display: inline-block; padding: 0 8px; border-radius: 10px; background: #eef1f5; font-size: 12px; }
        .warning .badge { background: #fff1cc; color: #7a5200; }
        code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; }
        footer { margin-top: 32px; color: #6b7280; font-size: 12px; }
        """
}
