import Foundation
import TensorEngine

/// Elementwise operators: arithmetic with broadcasting (on floats, or exactly on integers for shape
/// arithmetic) and activations.
enum ElementwiseOperators {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        ("Add", binary(+, { $0.addingReportingOverflow($1) })),
        ("Sub", binary(-, { $0.subtractingReportingOverflow($1) })),
        ("Mul", binary(*, { $0.multipliedReportingOverflow(by: $1) })),
        // Integer division truncates toward zero (C++, onnxruntime); by zero it is undefined in
        // ONNX and refused here.
        ("Div", binary(/, { b, c in c == 0 ? (0, true) : b.dividedReportingOverflow(by: c) })),
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

    /// Float arithmetic on the engine, or exact integer arithmetic when both inputs are integers
    /// (shape arithmetic); an integer result that overflows, or a division by zero, is an error.
    static func binary(
        _ f: @escaping @Sendable (Tensor, Tensor) -> Tensor,
        _ g: @escaping @Sendable (Int, Int) -> (partialValue: Int, overflow: Bool)
    ) -> OperatorRegistry.Implementation {
        { c in
            let a = try c.input(0)
            let b = try c.input(1)
            guard let shape = Kernels.broadcastShape(a.shape, b.shape) else {
                throw c.error(.invalidGraph, "shapes \(a.shape) and \(b.shape) do not broadcast")
            }
            _ = try c.limits.checkedCount(shape, "the broadcast of \(a.shape) and \(b.shape)", node: c.name)
            if a.isInt && b.isInt {
                // Broadcast the element positions (see ShapeOperators.layout), then combine exactly.
                let xa = try ShapeOperators.layout(c, a) { $0.broadcast(to: shape) }.asInts("A", node: c.name)
                let xb = try ShapeOperators.layout(c, b) { $0.broadcast(to: shape) }.asInts("B", node: c.name)
                var values: [Int] = []
                values.reserveCapacity(xa.count)
                for (x, y) in zip(xa, xb) {
                    let (r, overflow) = g(x, y)
                    guard !overflow else {
                        throw c.error(
                            .invalidGraph,
                            "integer \(c.node.opType) of \(x) and \(y) "
                                + (c.node.opType == "Div" && y == 0 ? "divides by zero" : "overflows 64 bits")
                        )
                    }
                    values.append(r)
                }
                return [.int(shape: shape, values: values)]
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
