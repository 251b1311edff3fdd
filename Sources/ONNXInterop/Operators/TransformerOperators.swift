import Foundation
import TensorEngine

/// Operators of transformer-era classifiers (ViT, Swin, ConvNeXt), composed from differentiable
/// engine ops so that first- and second-order derivatives come with them.
enum TransformerOperators {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        ("LayerNormalization", layerNormalization),
        ("Gelu", gelu),
    ]

    /// LayerNormalization (opset 17): over the axes [axis, rank), Y = (X − mean)/√(var + ε)·Scale + B,
    /// with the Mean and InvStdDev outputs (shape X.shape[..<axis] + 1s). Scale and B are trainable.
    static func layerNormalization(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["axis", "epsilon", "stash_type"])
        let x = try c.tensor(0)
        let scale = try c.tensor(1)
        let bias = try c.optionalInput(2)?.asTensor
        var axis = c.int("axis", default: -1)
        guard axis >= -x.rank && axis < max(x.rank, 1) else {
            throw c.error(.invalidGraph, "axis \(axis) is outside the input's rank \(x.rank)")
        }
        if axis < 0 { axis += x.rank }
        let epsilon = c.float("epsilon", default: 1e-5)
        guard epsilon >= 0, epsilon.isFinite else { throw c.error(.invalidGraph, "epsilon \(epsilon) must be ≥ 0") }
        let normalized = Array(x.shape[axis...])
        for (name, t) in [("Scale", scale), ("B", bias)] {
            guard let t else { continue }
            guard t.count == normalized.reduce(1, *), t.rank <= normalized.count,
                Array(normalized.suffix(t.rank)) == t.shape || t.count == 1
            else {
                throw c.error(
                    .invalidGraph,
                    "\(name) has shape \(t.shape) but the normalised axes of \(x.shape) are \(normalized)"
                )
            }
        }
        let axes = Array(axis..<x.rank)
        let mean = x.mean(axes: axes, keepDims: true)
        let centred = x - mean
        let variance = (centred * centred).mean(axes: axes, keepDims: true)
        let inverse = 1 / sqrt(variance + epsilon)
        var y = centred * inverse * scale
        if let bias { y = y + bias }
        return [.float(y), .float(mean), .float(inverse)]
    }

    /// Gelu (opset 20): x·Φ(x) = 0.5·x·(1 + erf(x/√2)), or with approximate="tanh"
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    static func gelu(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["approximate"])
        let x = try c.tensor(0)
        switch c.string("approximate", default: "none") {
        case "none":
            return [.float(0.5 * x * (1 + erf(x * Float(1 / 2.0.squareRoot()))))]
        case "tanh":
            let inner = (x + 0.044715 * x * x * x) * Float((2 / Double.pi).squareRoot())
            return [.float(0.5 * x * (1 + tanh(inner)))]
        case let other:
            throw c.error(.unsupported, "approximate=\(other) is not an ONNX value (none or tanh)")
        }
    }
}
