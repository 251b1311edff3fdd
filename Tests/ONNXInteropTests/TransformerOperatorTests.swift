import Foundation
import NN
import TensorEngine
import TensorEngineTestSupport
import Testing

@testable import ONNXInterop

/// LayerNormalization and Gelu: values against the formulas in Double, first- and second-order
/// gradients (input and trainable scale) against central differences. ONNX's own LayerNormalization
/// cases run in ConformanceTests.
@Suite("Transformer operators")
struct TransformerOperatorTests {
    typealias M = TestModels

    /// y = LayerNormalization(x, scale, bias) over the last two axes of a (2, 3, 4) input.
    static func layerNorm() throws -> ImportedGraph {
        var random = RandomGenerator(seed: 3)
        let scale = M.floatTensor("scale", dims: [3, 4], values: (0..<12).map { _ in 0.5 + random.nextUniform() })
        let bias = M.floatTensor("bias", dims: [3, 4], values: (0..<12).map { _ in random.nextUniform() - 0.5 })
        let proto = M.model(
            M.graph(
                nodes: [
                    M.node(
                        "LayerNormalization",
                        ["x", "scale", "bias"],
                        ["y", "mean", "inv"],
                        attributes: [M.intAttribute("axis", -2)]
                    )
                ],
                inputs: [M.valueInfo("x", [2, 3, 4])],
                outputs: [M.valueInfo("y", [2, 3, 4])],
                initializers: [scale, bias]
            ),
            opset: 17
        )
        return try ImportedGraph(try ONNXModel(serialized: M.bytes(proto)))
    }

    static func input(_ shape: [Int], seed: UInt64) -> Tensor {
        var random = RandomGenerator(seed: seed)
        return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in 2 * random.nextNormal() })
    }

    @Test func layerNormalizationMatchesTheFormula() throws {
        let graph = try Self.layerNorm()
        let x = Self.input([2, 3, 4], seed: 1)
        let outputs = try graph.run(["x": x], outputs: ["y", "mean", "inv"])
        let y = try #require(outputs["y"])
        let scale = try #require(graph.parameters.first { $0.name == "scale" }).value.scalars
        #expect(graph.parameters.map(\.name).sorted() == ["bias", "scale"], "scale and bias are trainable")
        for n in 0..<2 {
            let row = (0..<12).map { Double(x.scalars[n * 12 + $0]) }
            let mean = row.reduce(0, +) / 12
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 12
            #expect(abs(Double(outputs["mean"]?.scalars[n] ?? 0) - mean) < 1e-5)
            #expect(abs(Double(outputs["inv"]?.scalars[n] ?? 0) - 1 / (variance + 1e-5).squareRoot()) < 1e-4)
            let bias = try #require(graph.parameters.first { $0.name == "bias" }).value.scalars
            for i in 0..<12 {
                let expected = (row[i] - mean) / (variance + 1e-5).squareRoot() * Double(scale[i]) + Double(bias[i])
                #expect(abs(Double(y.scalars[n * 12 + i]) - expected) < 1e-4)
            }
        }
    }

    @Test func layerNormalizationGradientsFirstAndSecondOrder() throws {
        let graph = try Self.layerNorm()
        let x = Self.input([2, 3, 4], seed: 2)
        let weights = Self.input([2, 3, 4], seed: 5)
        func loss(_ y: Tensor) -> Tensor { (y * y * weights).sum() }
        let first = GradientCheck.check([x]) { xs in
            loss((try? graph.run(["x": xs[0]])["y"]) ?? Tensor(0))
        }
        #expect(first.passed, "\(first)")
        let second = GradientCheck.checkSecondOrder([x]) { xs in
            loss((try? graph.run(["x": xs[0]])["y"]) ?? Tensor(0))
        }
        #expect(second.passed, "\(second)")
        // The input gradient's dependence on the trainable scale (what Robust-KD's Jacobian term needs).
        let scale = try #require(graph.parameters.first { $0.name == "scale" })
        let tracked = x.tracked()
        let y = try #require(try graph.run(["x": tracked])["y"])
        let inputGradient = gradient(of: loss(y), wrt: [tracked], createGraph: true)[0]
        let mixed = gradient(of: (inputGradient * inputGradient).sum(), wrt: [scale.value])[0]
        #expect(mixed.scalars.contains { $0 != 0 } && mixed.scalars.allSatisfy(\.isFinite))
    }

    @Test(arguments: ["none", "tanh"])
    func geluMatchesTheFormulaAndItsGradients(_ approximate: String) throws {
        let proto = M.model(
            M.graph(
                nodes: [M.node("Gelu", ["x"], ["y"], attributes: [M.stringAttribute("approximate", approximate)])],
                inputs: [M.valueInfo("x", [3, 5])],
                outputs: [M.valueInfo("y", [3, 5])]
            ),
            opset: 20
        )
        let graph = try ImportedGraph(try ONNXModel(serialized: M.bytes(proto)))
        let x = Self.input([3, 5], seed: 9)
        let y = try #require(try graph.run(["x": x])["y"])
        for (value, result) in zip(x.scalars.map(Double.init), y.scalars) {
            let expected =
                approximate == "none"
                ? 0.5 * value * (1 + Foundation.erf(value / 2.0.squareRoot()))
                : 0.5 * value
                    * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (value + 0.044715 * value * value * value)))
            #expect(abs(Double(result) - expected) < 1e-5)
        }
        let first = GradientCheck.check([x]) { xs in ((try? graph.run(["x": xs[0]])["y"]) ?? Tensor(0)).sum() }
        #expect(first.passed, "\(first)")
        let second = GradientCheck.checkSecondOrder([x]) { xs in
            let y = (try? graph.run(["x": xs[0]])["y"]) ?? Tensor(0)
            return (y * y).sum()
        }
        #expect(second.passed, "\(second)")
    }

    /// Single-node graphs of the newer differentiable operators: first- and second-order input
    /// gradients against central differences.
    @Test(arguments: [
        "Softplus", "Mish", "ReduceLogSumExp", "ReduceL2", "InstanceNormalization", "DepthToSpace",
        "GroupNormalization", "LRN", "ReduceProd", "Resize",
    ])
    func newOperatorsHaveFirstAndSecondOrderGradients(_ op: String) throws {
        var initializers: [Onnx_TensorProto] = []
        var inputs = ["x"]
        var attributes: [Onnx_AttributeProto] = []
        var outputShape: [Int64] = [2, 4, 2, 2]
        switch op {
        case "InstanceNormalization":
            initializers = [
                M.floatTensor("s", dims: [4], values: [0.5, 1, 1.5, 2]),
                M.floatTensor("b", dims: [4], values: [0, 0.1, -0.1, 0.2]),
            ]
            inputs += ["s", "b"]
        case "DepthToSpace":
            attributes = [M.intAttribute("blocksize", 2)]
            outputShape = [2, 1, 4, 4]
        case "GroupNormalization":
            initializers = [
                M.floatTensor("s", dims: [2], values: [0.5, 1.5]),
                M.floatTensor("b", dims: [2], values: [0.1, -0.2]),
            ]
            inputs += ["s", "b"]
            attributes = [M.intAttribute("num_groups", 2)]
        case "LRN":
            attributes = [M.intAttribute("size", 3)]
        case "Resize":
            initializers = [M.floatTensor("scales", dims: [4], values: [1, 1, 1.5, 2])]
            inputs += ["", "scales"]
            attributes = [M.stringAttribute("mode", "linear")]
            outputShape = [2, 4, 3, 4]
        case "ReduceLogSumExp", "ReduceL2", "ReduceProd":
            attributes = [M.intsAttribute("axes", [1]), M.intAttribute("keepdims", 0)]
            outputShape = [2, 2, 2]
        default: break
        }
        let proto = M.model(
            M.graph(
                nodes: [M.node(op, inputs, ["y"], attributes: attributes)],
                inputs: [M.valueInfo("x", [2, 4, 2, 2])],
                outputs: [M.valueInfo("y", outputShape)],
                initializers: initializers
            ),
            opset: op == "Mish" || op == "GroupNormalization" ? 18 : 13
        )
        let graph = try ImportedGraph(try ONNXModel(serialized: M.bytes(proto)))
        // A product of four values of size ~2 loses the small gradient to Float rounding in the differences.
        let x = Self.input([2, 4, 2, 2], seed: 12) * (op == "ReduceProd" ? 0.4 : 1)
        let weights = Self.input(outputShape.map { Int($0) }, seed: 13)
        func loss(_ xs: [Tensor]) -> Tensor {
            let y = (try? graph.run(["x": xs[0]])["y"]) ?? Tensor(0)
            return (y * y * weights).sum()
        }
        let first = GradientCheck.check([x], loss)
        #expect(first.passed, "\(op): \(first)")
        let second = GradientCheck.checkSecondOrder([x], loss)
        #expect(second.passed, "\(op): \(second)")
    }

    /// GroupNormalization with unit scale and zero bias leaves each group of each example with mean 0
    /// and variance 1 (up to ε), and the opset-21 per-channel scale multiplies each channel.
    @Test func groupNormalizationNormalisesEachGroup() throws {
        for opset: Int64 in [18, 21] {
            let count = opset == 18 ? 2 : 4
            let proto = M.model(
                M.graph(
                    nodes: [
                        M.node(
                            "GroupNormalization",
                            ["x", "s", "b"],
                            ["y"],
                            attributes: [M.intAttribute("num_groups", 2)]
                        )
                    ],
                    inputs: [M.valueInfo("x", [2, 4, 3, 3])],
                    outputs: [M.valueInfo("y", [2, 4, 3, 3])],
                    initializers: [
                        M.floatTensor("s", dims: [Int64(count)], values: Array(repeating: 1, count: count)),
                        M.floatTensor("b", dims: [Int64(count)], values: Array(repeating: 0, count: count)),
                    ]
                ),
                opset: opset
            )
            let graph = try ImportedGraph(try ONNXModel(serialized: M.bytes(proto)))
            let y = try #require(try graph.run(["x": Self.input([2, 4, 3, 3], seed: 30)])["y"])
            for group in 0..<4 {
                let values = y.scalars[group * 18..<(group + 1) * 18].map(Double.init)
                let mean = values.reduce(0, +) / 18
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 18
                #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-3, "opset \(opset) group \(group)")
            }
        }
    }
}
