import Foundation
import NN
import TensorEngine
import TensorEngineTestSupport
import Testing

@testable import ONNXInterop

/// Where, Tile and GatherElements stay differentiable in their float inputs; Where is not poisoned by
/// a −∞ in the branch it does not take (attention masks). ONNX's own cases run in ConformanceTests.
@Suite("Selection operators")
struct LogicOperatorTests {
    typealias M = TestModels

    /// y = GatherElements(Tile(Where(x > 0, x, −∞·1), [1, 2]), indices, axis 1) on a (2, 3) input.
    static func graph() throws -> ImportedGraph {
        var axis = Onnx_AttributeProto()
        axis.name = "axis"
        axis.type = .int
        axis.i = 1
        let proto = M.model(
            M.graph(
                nodes: [
                    M.node("Greater", ["x", "zero"], ["positive"]),
                    M.node("Where", ["positive", "x", "minus"], ["masked"]),
                    M.node("Tile", ["masked", "repeats"], ["tiled"]),
                    M.node("GatherElements", ["tiled", "indices"], ["y"], attributes: [axis]),
                ],
                inputs: [M.valueInfo("x", [2, 3])],
                outputs: [M.valueInfo("y", [2, 4])],
                initializers: [
                    M.floatTensor("zero", dims: [1], values: [0]),
                    M.floatTensor("minus", dims: [2, 3], values: Array(repeating: -.infinity, count: 6)),
                    M.int64Tensor("repeats", [1, 2]),
                    M.int64Tensor("indices", [0, 4, 5, -1, 2, 3, 1, 0], dims: [2, 4]),
                ]
            ),
            opset: 13
        )
        return try ImportedGraph(try ONNXModel(serialized: M.bytes(proto)))
    }

    @Test func valuesAndGradients() throws {
        let graph = try Self.graph()
        let x = Tensor(shape: [2, 3], scalars: [0.5, -1, 2, 1.5, 0.25, -0.75])
        let y = try #require(try graph.run(["x": x])["y"])
        // Row 0 of the tiled, masked input: [0.5, −∞, 2, 0.5, −∞, 2]; picks 0, 4, 5, −1 → 0.5, −∞, 2, 2.
        #expect(Array(y.scalars[0..<4]) == [0.5, -.infinity, 2, 2])
        // Row 1: [1.5, 0.25, −∞, 1.5, 0.25, −∞]; picks 2, 3, 1, 0 → −∞, 1.5, 0.25, 1.5.
        #expect(Array(y.scalars[4..<8]) == [-.infinity, 1.5, 0.25, 1.5])
        // Gradients of the finite outputs flow to the selected inputs only, and stay finite.
        let finite = Tensor(shape: [2, 4], scalars: y.scalars.map { $0.isFinite ? 1 : 0 })
        let tracked = x.tracked()
        let out = try #require(try graph.run(["x": tracked])["y"])
        let g = gradient(of: (out * finite * finite).sum(), wrt: [tracked])[0]
        // x[0,0] picked once, x[0,2] twice, x[1,0] twice, x[1,1] once; negatives masked out.
        #expect(g.scalars == [1, 0, 2, 2, 1, 0])
        let check = GradientCheck.check([Tensor(shape: [2, 3], scalars: [0.5, 0.3, 2, 1.5, 0.25, 0.75])]) { xs in
            let y = (try? graph.run(["x": xs[0]])["y"]) ?? Tensor(0)
            return (y * y).sum()
        }
        #expect(check.passed, "\(check)")
    }
}
