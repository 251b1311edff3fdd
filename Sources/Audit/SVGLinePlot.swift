/// A line chart of shares in [0, 1] against a non-negative quantity (a budget, a step count), as inline
/// SVG: one line per series through its points (sorted by x), each with its interval drawn as a
/// translucent band (an error bar when the series has one point), an optional dotted reference level,
/// axes with ticks and a legend.
struct SVGLinePlot {
    /// How x values are placed.
    enum Scale {
        /// In proportion, with round ticks from 0.
        case linear
        /// Evenly, one tick per distinct value (for step counts such as 0, 1, 10, 100).
        case ordinal
    }

    /// One point and its interval.
    struct Point {
        var x: Double
        var y: Double
        var low: Double
        var high: Double
    }

    /// One line.
    struct Series {
        var name: String
        var colour: String
        var points: [Point]
        /// Drawn thicker and dashed (the worst case).
        var emphasised = false
    }

    var title: String
    var xLabel: String
    /// The quantity's symbol in tooltips, e.g. "ε" or "steps".
    var xName: String
    var xScale: Scale
    var yLabel: String
    var series: [Series]
    /// A horizontal dotted line (e.g. clean accuracy) and its legend label.
    var reference: (label: String, value: Double)?

    private let width = 900.0
    private let height = 430.0
    private let left = 72.0
    private let right = 690.0
    private let top = 46.0
    private let bottom = 366.0

    init(
        title: String,
        xLabel: String,
        xName: String = "ε",
        xScale: Scale = .linear,
        yLabel: String,
        series: [Series],
        reference: (label: String, value: Double)? = nil
    ) {
        self.title = title
        self.xLabel = xLabel
        self.xName = xName
        self.xScale = xScale
        self.yLabel = yLabel
        self.series = series
        self.reference = reference
    }

    /// The `<svg>` element.
    func svg() -> String {
        let ticks = xTicks()
        let px = xPosition(ticks: ticks)
        let py = { (y: Double) in self.bottom - min(max(y, 0), 1) * (self.bottom - self.top) }
        let c = SVGMarkup.coordinate
        var out = SVGMarkup.open(width: width, height: height, label: title)
        out += "<title>\(SVGMarkup.escape(title))</title>"
        out += SVGMarkup.text(title, x: (left + right) / 2, y: 24, attributes: " class=\"chart-title\"")
        // Grid, axes and ticks.
        for tick in stride(from: 0.0, through: 1.0, by: 0.2) {
            let y = py(tick)
            out += "<line x1=\"\(c(left))\" y1=\"\(c(y))\" x2=\"\(c(right))\" y2=\"\(c(y))\" class=\"grid\"/>"
            out += SVGMarkup.text(SVGMarkup.percentTick(tick), x: left - 8, y: y + 4, anchor: "end")
        }
        for tick in ticks {
            let x = px(tick)
            out += "<line x1=\"\(c(x))\" y1=\"\(c(top))\" x2=\"\(c(x))\" y2=\"\(c(bottom))\" class=\"grid\"/>"
            out += "<line x1=\"\(c(x))\" y1=\"\(c(bottom))\" x2=\"\(c(x))\" y2=\"\(c(bottom + 5))\" class=\"axis\"/>"
            out += SVGMarkup.text(SVGMarkup.tickLabel(tick), x: x, y: bottom + 20)
        }
        out += "<polyline points=\"\(c(left)),\(c(top)) \(c(left)),\(c(bottom)) \(c(right)),\(c(bottom))\" "
        out += "class=\"axis\" fill=\"none\"/>"
        out += SVGMarkup.text(xLabel, x: (left + right) / 2, y: bottom + 46, attributes: " class=\"axis-label\"")
        out += SVGMarkup.text(
            yLabel,
            x: 0,
            y: 0,
            attributes: " class=\"axis-label\" transform=\"translate(18 \(c((top + bottom) / 2))) rotate(-90)\""
        )
        if let reference {
            let y = py(reference.value)
            out += "<line x1=\"\(c(left))\" y1=\"\(c(y))\" x2=\"\(c(right))\" y2=\"\(c(y))\" class=\"reference\">"
            out += "<title>\(SVGMarkup.escape(reference.label)): \(SVGMarkup.percent(reference.value))</title></line>"
        }
        // Bands first, so that every line stays visible above every band.
        for s in series {
            let points = s.points.sorted { $0.x < $1.x }
            guard points.count > 1 else { continue }
            let upper = points.map { "\(c(px($0.x))),\(c(py($0.high)))" }
            let lower = points.reversed().map { "\(c(px($0.x))),\(c(py($0.low)))" }
            out += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(s.colour)\" "
            out += "fill-opacity=\"0.14\" stroke=\"none\"/>"
        }
        for s in series {
            out += line(s, px: px, py: py)
        }
        out += legend()
        return out + "</svg>"
    }

    /// A series' line (or error bar, for one point) and its points, each with a tooltip.
    private func line(_ s: Series, px: (Double) -> Double, py: (Double) -> Double) -> String {
        let c = SVGMarkup.coordinate
        let points = s.points.sorted { $0.x < $1.x }
        let strokeWidth = s.emphasised ? 3.0 : 2.0
        let dash = s.emphasised ? " stroke-dasharray=\"7 4\"" : ""
        var out = "<g class=\"series\">"
        if points.count > 1 {
            let coordinates = points.map { "\(c(px($0.x))),\(c(py($0.y)))" }.joined(separator: " ")
            out += "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(s.colour)\" "
            out += "stroke-width=\"\(c(strokeWidth))\"\(dash)/>"
        } else if let point = points.first {
            let x = px(point.x)
            for (x1, y1, x2, y2) in [
                (x, py(point.low), x, py(point.high)), (x - 5, py(point.low), x + 5, py(point.low)),
                (x - 5, py(point.high), x + 5, py(point.high)),
            ] {
                out += "<line x1=\"\(c(x1))\" y1=\"\(c(y1))\" x2=\"\(c(x2))\" y2=\"\(c(y2))\" "
                out += "stroke=\"\(s.colour)\" stroke-width=\"1.5\"/>"
            }
        }
        for point in points {
            let tip =
                "\(s.name), \(xName) = \(SVGMarkup.tickLabel(point.x)): \(SVGMarkup.percent(point.y)) "
                + "(95 % CI \(SVGMarkup.percent(point.low))–\(SVGMarkup.percent(point.high)))"
            out += "<circle cx=\"\(c(px(point.x)))\" cy=\"\(c(py(point.y)))\" r=\"\(s.emphasised ? "5" : "4")\" "
            out += "fill=\"\(s.colour)\" stroke=\"#fff\" stroke-width=\"1\"><title>\(SVGMarkup.escape(tip))</title>"
            out += "</circle>"
        }
        return out + "</g>"
    }

    /// The legend, right of the plot area.
    private func legend() -> String {
        let c = SVGMarkup.coordinate
        let x = right + 24
        var y = top + 6
        var out = "<g class=\"legend\">"
        for s in series {
            let dash = s.emphasised ? " stroke-dasharray=\"7 4\"" : ""
            out += "<line x1=\"\(c(x))\" y1=\"\(c(y))\" x2=\"\(c(x + 28))\" y2=\"\(c(y))\" stroke=\"\(s.colour)\" "
            out += "stroke-width=\"\(s.emphasised ? "3" : "2")\"\(dash)/>"
            out += "<circle cx=\"\(c(x + 14))\" cy=\"\(c(y))\" r=\"4\" fill=\"\(s.colour)\"/>"
            out += SVGMarkup.text(s.name, x: x + 36, y: y + 4, anchor: "start")
            y += 22
        }
        if let reference {
            out += "<line x1=\"\(c(x))\" y1=\"\(c(y))\" x2=\"\(c(x + 28))\" y2=\"\(c(y))\" class=\"reference\"/>"
            out += SVGMarkup.text(reference.label, x: x + 36, y: y + 4, anchor: "start")
            y += 22
        }
        out += "<rect x=\"\(c(x))\" y=\"\(c(y - 6))\" width=\"28\" height=\"12\" fill=\"#888\" fill-opacity=\"0.25\"/>"
        out += SVGMarkup.text("95 % Wilson interval", x: x + 36, y: y + 4, anchor: "start")
        return out + "</g>"
    }

    /// The page position of an x value: in proportion between the first and last tick, or (ordinal) at
    /// the middle of its tick's slot.
    private func xPosition(ticks: [Double]) -> (Double) -> Double {
        let span = right - left
        switch xScale {
        case .linear:
            let low = ticks.first ?? 0
            let high = ticks.last ?? 1
            return { x in self.left + (high > low ? (x - low) / (high - low) : 0.5) * span }
        case .ordinal:
            let slot = span / Double(max(ticks.count, 1))
            return { x in
                let index = ticks.indices.min { abs(ticks[$0] - x) < abs(ticks[$1] - x) } ?? 0
                return self.left + (Double(index) + 0.5) * slot
            }
        }
    }

    /// Linear: round ticks from 0 (or the smallest x, if negative) to the largest x; 0 to 1 without a
    /// positive range. Ordinal: the distinct values in order.
    private func xTicks() -> [Double] {
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite)
        if xScale == .ordinal { return Array(Set(xs)).sorted() }
        let low = min(0, xs.min() ?? 0)
        var high = xs.max() ?? 1
        if !(high > low) { high = low + 1 }
        return SVGMarkup.niceTicks(low: low, high: high)
    }
}
