/// A grouped bar chart of shares in [0, 1] as inline SVG: one group per category (e.g. a class), one
/// bar per series (e.g. an attack) in each group, a missing value leaving its slot empty; axes, ticks
/// and a legend. The chart widens with the number of groups and slants long category labels.
struct SVGBarChart {
    /// One bar per group.
    struct Series {
        var name: String
        var colour: String
        /// One value per group; nil for none.
        var values: [Double?]
    }

    var title: String
    var yLabel: String
    var groups: [String]
    var series: [Series]

    private let left = 72.0
    private let top = 46.0
    private let plotHeight = 260.0
    private let legendWidth = 210.0

    init(title: String, yLabel: String, groups: [String], series: [Series]) {
        self.title = title
        self.yLabel = yLabel
        self.groups = groups
        self.series = series
    }

    /// The `<svg>` element.
    func svg() -> String {
        let c = SVGMarkup.coordinate
        let groupCount = Double(max(groups.count, 1))
        let barCount = Double(max(series.count, 1))
        let barWidth = min(18, max(4, (618 / groupCount - 12) / barCount))
        let groupWidth = barCount * barWidth + 12
        let plotWidth = max(618, groupCount * groupWidth)
        let right = left + plotWidth
        let bottom = top + plotHeight
        let longest = Double(groups.map(\.count).max() ?? 1)
        let slanted = longest * 6.5 > groupWidth - 4
        // A label slanted by 40° drops about 0.65 of its length (6.5 units a character at 12 px).
        let labelSpace = slanted ? min(140, 22 + longest * 4.3) : 30
        let width = right + 24 + legendWidth
        let height = bottom + labelSpace + 10
        let py = { (y: Double) in bottom - min(max(y, 0), 1) * self.plotHeight }

        var out = SVGMarkup.open(width: width, height: height, label: title)
        out += "<title>\(SVGMarkup.escape(title))</title>"
        out += SVGMarkup.text(title, x: (left + right) / 2, y: 24, attributes: " class=\"chart-title\"")
        for tick in stride(from: 0.0, through: 1.0, by: 0.2) {
            let y = py(tick)
            out += "<line x1=\"\(c(left))\" y1=\"\(c(y))\" x2=\"\(c(right))\" y2=\"\(c(y))\" class=\"grid\"/>"
            out += SVGMarkup.text(SVGMarkup.percentTick(tick), x: left - 8, y: y + 4, anchor: "end")
        }
        for (g, group) in groups.enumerated() {
            let x0 = left + Double(g) * groupWidth + 6
            for (s, line) in series.enumerated() {
                guard g < line.values.count, let value = line.values[g], value.isFinite else { continue }
                let x = x0 + Double(s) * barWidth
                let y = py(value)
                // A zero still shows as a hairline, so that it differs from a missing value.
                let h = max(bottom - y, 1.5)
                let tip = "\(group): \(line.name) \(SVGMarkup.percent(value))"
                out += "<rect x=\"\(c(x))\" y=\"\(c(bottom - h))\" width=\"\(c(max(barWidth - 1, 1)))\" "
                out += "height=\"\(c(h))\" fill=\"\(line.colour)\"><title>\(SVGMarkup.escape(tip))</title></rect>"
            }
            let centre = x0 + (groupWidth - 12) / 2
            if slanted {
                out += SVGMarkup.text(
                    group,
                    x: 0,
                    y: 0,
                    anchor: "end",
                    attributes: " transform=\"translate(\(c(centre + 4)) \(c(bottom + 14))) rotate(-40)\""
                )
            } else {
                out += SVGMarkup.text(group, x: centre, y: bottom + 18)
            }
        }
        out += "<polyline points=\"\(c(left)),\(c(top)) \(c(left)),\(c(bottom)) \(c(right)),\(c(bottom))\" "
        out += "class=\"axis\" fill=\"none\"/>"
        out += SVGMarkup.text(
            yLabel,
            x: 0,
            y: 0,
            attributes: " class=\"axis-label\" transform=\"translate(18 \(c((top + bottom) / 2))) rotate(-90)\""
        )
        var y = top + 6
        for line in series {
            out += "<rect x=\"\(c(right + 24))\" y=\"\(c(y - 6))\" width=\"14\" height=\"12\" fill=\"\(line.colour)\"/>"
            out += SVGMarkup.text(line.name, x: right + 46, y: y + 4, anchor: "start")
            y += 22
        }
        return out + "</svg>"
    }
}
