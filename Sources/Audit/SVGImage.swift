import Foundation

/// A small image drawn as inline SVG, one `<rect>` per run of equal pixels in a row: greyscale for one
/// channel, RGB for three (any other channel count shows its first channel in grey). Values are
/// clipped to [0, 1]; images larger than ``maximumSide`` are averaged down in square blocks first.
struct SVGImage {
    /// The longest side drawn; larger images are reduced by block averaging.
    static let maximumSide = 64

    /// (C, H, W) values.
    private(set) var values: [Float]
    let channels: Int
    private(set) var height: Int
    private(set) var width: Int

    /// The image of `values` with `shape` (C, H, W); nil when the shape is not three positive sizes
    /// whose product is the number of values.
    init?(values: [Float], shape: [Int]) {
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }), shape.reduce(1, *) == values.count else { return nil }
        self.values = values
        channels = shape[0]
        height = shape[1]
        width = shape[2]
        reduce()
    }

    /// 0.5 + `gain`·(`b` − `a`), per value and clipped: mid grey where nothing changed, so that a
    /// perturbation of a few hundredths becomes visible. Nil when the shapes differ.
    static func difference(from a: SVGImage, to b: SVGImage, gain: Float) -> SVGImage? {
        guard a.channels == b.channels, a.height == b.height, a.width == b.width else { return nil }
        let values = zip(a.values, b.values).map { 0.5 + gain * ($1 - $0) }
        return SVGImage(values: values, shape: [a.channels, a.height, a.width])
    }

    /// The `<svg>` element, `size` pixels wide on the page, with `label` as its accessible name and tooltip.
    func svg(size: Double, label: String) -> String {
        let c = SVGMarkup.coordinate
        let shown = size * Double(height) / Double(width)
        var out = "<svg viewBox=\"0 0 \(width) \(height)\" width=\"\(c(size))\" height=\"\(c(shown))\" "
        out += "shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"\(SVGMarkup.escape(label))\" class=\"pixels\">"
        out += "<title>\(SVGMarkup.escape(label))</title>"
        for y in 0..<height {
            var x = 0
            while x < width {
                let colour = self.colour(x: x, y: y)
                var run = 1
                while x + run < width && self.colour(x: x + run, y: y) == colour { run += 1 }
                out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(run)\" height=\"1\" fill=\"\(colour)\"/>"
                x += run
            }
        }
        return out + "</svg>"
    }

    /// The pixel's colour as `#rrggbb`.
    private func colour(x: Int, y: Int) -> String {
        let plane = height * width
        let at = y * width + x
        if channels == 3 {
            return "#" + Self.hex(values[at]) + Self.hex(values[plane + at]) + Self.hex(values[2 * plane + at])
        }
        let v = Self.hex(values[at])
        return "#" + v + v + v
    }

    /// A value clipped to [0, 1] as two hexadecimal digits, 00 to ff (a non-finite value is 00).
    private static func hex(_ v: Float) -> String {
        let byte = v.isFinite ? Int((min(max(v, 0), 1) * 255).rounded()) : 0
        let digits = Array("0123456789abcdef")
        return String([digits[byte / 16], digits[byte % 16]])
    }

    /// Averages square blocks until the longest side is at most ``maximumSide``.
    private mutating func reduce() {
        let factor = (max(height, width) + Self.maximumSide - 1) / Self.maximumSide
        guard factor > 1 else { return }
        let newHeight = (height + factor - 1) / factor
        let newWidth = (width + factor - 1) / factor
        var reduced = [Float](repeating: 0, count: channels * newHeight * newWidth)
        for ch in 0..<channels {
            for y in 0..<newHeight {
                for x in 0..<newWidth {
                    var sum: Float = 0
                    var count: Float = 0
                    for yy in y * factor..<min((y + 1) * factor, height) {
                        for xx in x * factor..<min((x + 1) * factor, width) {
                            sum += values[(ch * height + yy) * width + xx]
                            count += 1
                        }
                    }
                    reduced[(ch * newHeight + y) * newWidth + x] = count > 0 ? sum / count : 0
                }
            }
        }
        values = reduced
        height = newHeight
        width = newWidth
    }
}
