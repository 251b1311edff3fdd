import Foundation
import TensorEngine

/// Resize (opsets 10–19) in `nearest` and `linear` modes, one axis at a time: nearest is a gather,
/// linear a weighted sum of two gathers, so both are differentiable in the input. The coordinate
/// transformations half_pixel, asymmetric, align_corners, pytorch_half_pixel and
/// tf_half_pixel_for_nn, and the four nearest modes, are supported; cubic, tf_crop_and_resize,
/// antialias and keep_aspect_ratio_policy are refused with the reason.
enum ResizeOperator {
    static let all: [(String, OperatorRegistry.Implementation)] = [("Resize", resize), ("Upsample", resize)]

    static func resize(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes([
            "mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
            "extrapolation_value", "antialias", "axes", "keep_aspect_ratio_policy",
        ])
        let x = try c.tensor(0)
        let mode = c.string("mode", default: "nearest")
        guard mode == "nearest" || mode == "linear" || mode == "bilinear" else {
            throw c.error(.unsupported, "mode=\(mode) is not supported (nearest and linear are)")
        }
        guard c.int("antialias", default: 0) == 0, c.string("keep_aspect_ratio_policy", default: "stretch") == "stretch"
        else {
            throw c.error(.unsupported, "antialias and keep_aspect_ratio_policy are not supported")
        }
        let transform = c.opset >= 11 ? c.string("coordinate_transformation_mode", default: "half_pixel") : "asymmetric"
        guard transform != "tf_crop_and_resize" else {
            throw c.error(.unsupported, "coordinate_transformation_mode=tf_crop_and_resize is not supported")
        }
        let nearestMode = c.opset >= 11 ? c.string("nearest_mode", default: "round_prefer_floor") : "floor"
        // Scales (opset 10: input 1; later: input 2) or sizes (input 3), over all axes or `axes`.
        let axes = (c.ints("axes") ?? Array(0..<x.rank)).map { $0 < 0 ? $0 + x.rank : $0 }
        var scales = [Double](repeating: 1, count: x.rank)
        var sizes = x.shape
        let scaleInput = c.node.opType == "Upsample" || c.opset < 11 ? 1 : 2
        if let s = c.optionalInput(scaleInput)?.asTensor, s.count > 0 {
            guard s.count == axes.count, s.scalars.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw c.error(.invalidGraph, "scales \(s.scalars) for \(axes.count) axes")
            }
            for (k, axis) in axes.enumerated() {
                scales[axis] = Double(s.scalars[k])
                sizes[axis] = Int((Double(x.shape[axis]) * scales[axis]).rounded(.down))
            }
        } else if c.opset >= 11, let sz = c.optionalInput(3) {
            let values = try sz.asInts("sizes", node: c.name)
            guard values.count == axes.count, values.allSatisfy({ $0 >= 1 }) else {
                throw c.error(.invalidGraph, "sizes \(values) for \(axes.count) axes")
            }
            for (k, axis) in axes.enumerated() {
                sizes[axis] = values[k]
                scales[axis] = Double(values[k]) / Double(x.shape[axis])
            }
        } else {
            throw c.error(.invalidGraph, "Resize needs scales or sizes")
        }
        _ = try c.limits.checkedCount(sizes, "Resize's output", node: c.name)
        var y = x
        for axis in 0..<x.rank where sizes[axis] != x.shape[axis] || scales[axis] != 1 {
            let length = x.shape[axis]
            let out = sizes[axis]
            let source = (0..<out).map { o -> Double in
                let r = Double(o)
                switch transform {
                case "asymmetric": return r / scales[axis]
                case "align_corners":
                    // The resized length unrounded (length·scale), as ONNX's reference has it.
                    let resized = Double(length) * scales[axis]
                    return resized > 1 ? r * Double(length - 1) / (resized - 1) : 0
                case "pytorch_half_pixel": return out > 1 ? (r + 0.5) / scales[axis] - 0.5 : 0
                case "tf_half_pixel_for_nn": return (r + 0.5) / scales[axis]
                default: return (r + 0.5) / scales[axis] - 0.5  // half_pixel
                }
            }
            if mode == "nearest" {
                let indices = source.map { s -> Int in
                    let i: Double
                    switch nearestMode {
                    case "round_prefer_ceil": i = (s - s.rounded(.down) == 0.5) ? s.rounded(.up) : s.rounded()
                    case "floor": i = s.rounded(.down)
                    case "ceil": i = s.rounded(.up)
                    default: i = (s - s.rounded(.down) == 0.5) ? s.rounded(.down) : s.rounded()  // round_prefer_floor
                    }
                    return min(max(Int(i), 0), length - 1)
                }
                y = y.gathered(indices: indices, indicesShape: [out], axis: axis)
            } else {
                let clamped = source.map { min(max($0, 0), Double(length - 1)) }
                let low = clamped.map { Int($0.rounded(.down)) }
                let high = low.map { min($0 + 1, length - 1) }
                let weight = zip(clamped, low).map { Float($0 - Double($1)) }
                var shape = Array(repeating: 1, count: x.rank)
                shape[axis] = out
                let w = Tensor(shape: shape, scalars: weight)
                let a = y.gathered(indices: low, indicesShape: [out], axis: axis)
                let b = y.gathered(indices: high, indicesShape: [out], axis: axis)
                y = a * (1 - w) + b * w
            }
        }
        return [.float(y)]
    }
}
