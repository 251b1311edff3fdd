import Foundation
import TensorEngine

/// Elementwise operators: arithmetic with broadcasting (on floats, or exactly on integers for shape
/// arithmetic) and activations.
enum ElementwiseOperators {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        ("Add", binary(+, { $0 + $1 })),
        ("Sub", binary(-, { $0 - $1 })),
        ("Mul", binary(*, { $0 * $1 })),
        ("Div", binary(/, { b, c in c == 0 ? 0 : Int((Double(b) / Double(c)).rounded(.towardZero)) })),
        ("Pow", { c in [.float(pow(try c.tensor(0), try c.tensor(1)))] }),
        ("Relu", unary { relu($0) }),
        ("Sigmoid", unary { sigmoid($0) }),
        ("Tanh", unary { tanh($0) }),
        ("Exp", unary { exp($0) }),
        ("Log", unary { log($0) }),
        ("Sqrt", unary { sqrt($0) }),
        ("Erf", unary { erf($0) }),
        ("Abs", unary { abs($0) }),
        ("Neg", unary { -$0 }),
        ("Identity", { c in [try c.input(0)] }),
        ("Dropout", dropout),
        ("LeakyRelu", { c in [.float(leakyRelu(try c.tensor(0), alpha: c.float("alpha", default: 0.01)))] }),
        ("Clip", clipOperator),
    ]

    static func unary(_ f: @escaping @Sendable (Tensor) -> Tensor) -> OperatorRegistry.Implementation {
        { c in [.float(f(try c.tensor(0)))] }
    }

    /// Float arithmetic on the engine, or integer arithmetic when both inputs are integers.
    static func binary(
        _ f: @escaping @Sendable (Tensor, Tensor) -> Tensor,
        _ g: @escaping @Sendable (Int, Int) -> Int
    ) -> OperatorRegistry.Implementation {
        { c in
            let a = try c.input(0)
            let b = try c.input(1)
            if case .int(let sa, let va) = a, case .int(let sb, let vb) = b {
                guard let shape = Kernels.broadcastShape(sa, sb) else {
                    throw c.error(.invalidGraph, "shapes \(sa) and \(sb) do not broadcast")
                }
                let fa = Kernels.broadcast(va.map { Float($0) }, sa, to: shape)
                let fb = Kernels.broadcast(vb.map { Float($0) }, sb, to: shape)
                return [.int(shape: shape, values: zip(fa, fb).map { g(Int($0), Int($1)) })]
            }
            guard Kernels.broadcastShape(a.shape, b.shape) != nil else {
                throw c.error(.invalidGraph, "shapes \(a.shape) and \(b.shape) do not broadcast")
            }
            return [.float(f(a.asTensor, b.asTensor))]
        }
    }

    /// Inference: the identity (and, if asked for, an all-true mask). From opset 12 a `training_mode`
    /// input may switch random dropout on; with a non-zero ratio that draws random masks, which an
    /// imported graph does not reproduce, so it is refused.
    static func dropout(_ c: NodeContext) throws -> [Value] {
        let x = try c.input(0)
        if c.opset >= 12, let training = c.optionalInput(2),
            try training.asInts("training_mode", node: c.name).contains(where: { $0 != 0 })
        {
            let ratio = c.optionalInput(1)?.asTensor.scalars.first ?? 0.5
            if ratio != 0 {
                throw c.error(
                    .unsupported,
                    "training_mode is true with ratio \(ratio): random dropout masks are not supported; export the "
                        + "model in inference (eval) mode"
                )
            }
        }
        if c.node.output.count > 1 && !c.node.output[1].isEmpty {
            return [x, .int(shape: x.shape, values: [Int](repeating: 1, count: x.shape.reduce(1, *)))]
        }
        return [x]
    }

    /// Clip: bounds are attributes before opset 11, optional inputs from 11 on.
    static func clipOperator(_ c: NodeContext) throws -> [Value] {
        let x = try c.tensor(0)
        var low = -Float.infinity
        var high = Float.infinity
        if c.opset < 11 {
            low = c.float("min", default: low)
            high = c.float("max", default: high)
        } else {
            if let v = c.optionalInput(1) { low = v.asTensor.scalars.first ?? low }
            if let v = c.optionalInput(2) { high = v.asTensor.scalars.first ?? high }
        }
        guard low <= high else {
            // ONNX: when min > max every output is max.
            return [.float(x * 0 + high)]
        }
        return [.float(clip(x, min: low, max: high))]
    }
}
