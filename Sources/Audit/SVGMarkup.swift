import Foundation

/// Text and number formatting shared by the HTML report and its inline SVG pictures.
enum SVGMarkup {
    /// `text` with the five characters that are special in HTML and XML (`& < > " '`) replaced by
    /// entities, safe both as element content and inside a quoted attribute.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A coordinate with two decimals; a non-finite value becomes 0 so that no `NaN` reaches the page.
    static func coordinate(_ x: Double) -> String {
        String(format: "%.2f", x.isFinite ? x : 0)
    }

    /// A share as a percentage with one decimal, e.g. "45.0 %" (a non-finite share reads "–").
    static func percent(_ x: Double) -> String {
        x.isFinite ? String(format: "%.1f %%", 100 * x) : "–"
    }

    /// A share as a whole percentage for an axis tick, e.g. "40 %".
    static func percentTick(_ x: Double) -> String {
        x.isFinite ? String(format: "%.0f %%", 100 * x) : "–"
    }

    /// A short decimal for an axis label: "0", "0.05", "8", "0.0314" (up to four significant digits).
    static func tickLabel(_ x: Double) -> String {
        guard x.isFinite else { return "–" }
        if abs(x) < 1e-12 { return "0" }
        return String(format: "%.4g", x)
    }

    /// About `count` round values (1, 2 or 5 × 10ⁿ apart) covering `low...high`, the first at or below
    /// `low` and the last at or above `high`. - Precondition: `low < high`, both finite.
    static func niceTicks(low: Double, high: Double, count: Int = 5) -> [Double] {
        precondition(low < high && low.isFinite && high.isFinite, "niceTicks: range \(low)...\(high)")
        // The relative slack keeps a budget stored as Float (0.1 is 0.100000001) from adding a tick.
        let raw = (high - low) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-6) } ?? 10 * magnitude
        let first = floor(low / step + 1e-6)
        let last = ceil(high / step - 1e-6)
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    /// The colour of the `index`-th series (Tableau 10, which stays distinguishable for most colour-blind
    /// readers and in greyscale prints by lightness).
    static func colour(_ index: Int) -> String {
        let palette = [
            "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
            "#bab0ac",
        ]
        return palette[((index % palette.count) + palette.count) % palette.count]
    }

    /// An `<svg>` element's opening tag: a fixed coordinate system that scales down to the page width.
    static func open(width: Double, height: Double, label: String) -> String {
        let w = coordinate(width)
        let h = coordinate(height)
        return "<svg viewBox=\"0 0 \(w) \(h)\" width=\"\(w)\" height=\"\(h)\" role=\"img\" "
            + "aria-label=\"\(escape(label))\" class=\"chart\">"
    }

    /// A text element; `anchor` is `start`, `middle` or `end`.
    static func text(
        _ content: String,
        x: Double,
        y: Double,
        anchor: String = "middle",
        attributes: String = ""
    ) -> String {
        "<text x=\"\(coordinate(x))\" y=\"\(coordinate(y))\" text-anchor=\"\(anchor)\"\(attributes)>"
            + "\(escape(content))</text>"
    }
}
