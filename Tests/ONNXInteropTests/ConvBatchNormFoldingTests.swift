import Foundation
import NN
import SwiftProtobuf
import TensorEngine
import TensorEngineTestSupport
import Testing

@testable import ONNXInterop

/// x (N,3,6,6) → Conv(W: 4×3×3×3, bias, pads 1) → BatchNormalization → Relu → y, with random
/// weights and statistics.
private func convBatchNormModel(seed: UInt64) throws -> ImportedGraph {
    var rng = RandomGenerator(seed: seed)
    func initializer(_ name: String, _ dims: [Int], positive: Bool = false) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map(Int64.init)
        t.dataType = 1
        t.floatData = (0..<dims.reduce(1, *)).map { _ in positive ? 0.5 + rng.nextUniform() : rng.nextNormal() * 0.5 }
        return t
    }
    var conv = Onnx_NodeProto()
    conv.opType = "Conv"
    conv.input = ["x", "W", "B"]
    conv.output = ["c"]
    var pads = Onnx_AttributeProto()
    pads.name = "pads"
    pads.type = .ints
    pads.ints = [1, 1, 1, 1]
    conv.attribute = [pads]
    var bn = Onnx_NodeProto()
    bn.opType = "BatchNormalization"
    bn.input = ["c", "scale", "shift", "mean", "var"]
    bn.output = ["b"]
    var relu = Onnx_NodeProto()
    relu.opType = "Relu"
    relu.input = ["b"]
    relu.output = ["y"]
    return try importedXToYGraph(
        nodes: [conv, bn, relu],
        initializers: [
            initializer("W", [4, 3, 3, 3]), initializer("B", [4]), initializer("scale", [4]), initializer("shift", [4]),
            initializer("mean", [4]), initializer("var", [4], positive: true),
        ]
    )
}

@Suite("Conv → BatchNormalization folding in inference runs")
struct ConvBatchNormFoldingTests {
    @Test func foldedEqualsUnfolded() throws {
        let graph = try convBatchNormModel(seed: 1)
        #expect(graph.folding.convolutionForBatchNorm.count == 1)
        var rng = RandomGenerator(seed: 2)
        let x = Tensor(shape: [2, 3, 6, 6], scalars: (0..<216).map { _ in rng.nextNormal() })
        let folded = try #require(try graph.run(["x": x])["y"])
        // Asking for the convolution's own output keeps the pair unfolded.
        let unfolded = try #require(try graph.run(["x": x], outputs: ["y", "c"])["y"])
        #expect(folded.shape == [2, 4, 6, 6])
        let difference = zip(folded.scalars, unfolded.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(difference < 1e-5)
        #expect(folded.scalars.contains { $0 > 0 })
    }

    /// Input and weight gradients through the folded pair equal finite differences.
    @Test func foldedGradientsMatchFiniteDifferences() throws {
        let graph = try convBatchNormModel(seed: 3)
        var rng = RandomGenerator(seed: 4)
        let x = Tensor(shape: [1, 3, 6, 6], scalars: (0..<108).map { _ in rng.nextNormal() })
        let inputCheck = GradientCheck.check([x], step: 1e-2, maxElements: 30) { xs in
            GradientCheck.projection((try? graph.run(["x": xs[0]]))?["y"] ?? Tensor(0))
        }
        #expect(inputCheck.passed, "\(inputCheck)")
        for name in ["W", "B", "scale", "shift"] {
            let parameter = try #require(graph.parameters.first { $0.name == name })
            let check = GradientCheck.check([parameter.value], step: 1e-2, maxElements: 20) { ps in
                parameter.value = ps[0]
                return GradientCheck.projection((try? graph.run(["x": x]))?["y"] ?? Tensor(0))
            }
            #expect(check.passed, "\(name): \(check)")
        }
    }
}
