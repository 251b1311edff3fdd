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
        let axis = M.intAttribute("axis", 1)
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

    /// Einsum's attention patterns against loops in Double, with first- and second-order gradients.
    @Test(arguments: ["bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd", "bqd,dk->bkq"])
    func einsumAttentionPatterns(_ equation: String) throws {
        let sides = equation.components(separatedBy: "->")
        let operands = sides[0].split(separator: ",").map { Array($0) }
        let sizes: [Character: Int] = ["b": 2, "h": 2, "q": 3, "k": 4, "d": 5]
        let equationAttribute = M.stringAttribute("equation", equation)
        let shapes = operands.map { $0.map { sizes[$0] ?? 0 } }
        let outShape = Array(sides[1]).map { sizes[$0] ?? 0 }
        let proto = M.model(
            M.graph(
                nodes: [M.node("Einsum", ["a", "b"], ["y"], attributes: [equationAttribute])],
                inputs: [M.valueInfo("a", shapes[0].map(Int64.init)), M.valueInfo("b", shapes[1].map(Int64.init))],
                outputs: [M.valueInfo("y", outShape.map(Int64.init))]
            ),
            opset: 13
        )
        let graph = try ImportedGraph(try ONNXModel(serialized: M.bytes(proto)))
        var random = RandomGenerator(seed: 21)
        let a = Tensor(shape: shapes[0], scalars: (0..<shapes[0].reduce(1, *)).map { _ in random.nextNormal() })
        let b = Tensor(shape: shapes[1], scalars: (0..<shapes[1].reduce(1, *)).map { _ in random.nextNormal() })
        let y = try #require(try graph.run(["a": a, "b": b])["y"])
        #expect(y.shape == outShape)
        // Naive: sum over every assignment of the labels.
        let labels = Array(Set(operands.flatMap { $0 })).sorted()
        var expected = [Double](repeating: 0, count: outShape.reduce(1, *))
        var assignment = [Character: Int]()
        func index(_ ls: [Character], _ shape: [Int]) -> Int {
            zip(ls, contiguousStrides(shape)).reduce(0) { $0 + (assignment[$1.0] ?? 0) * $1.1 }
        }
        func visit(_ k: Int) {
            if k == labels.count {
                expected[index(Array(sides[1]), outShape)] +=
                    Double(a.scalars[index(operands[0], shapes[0])]) * Double(b.scalars[index(operands[1], shapes[1])])
                return
            }
            for v in 0..<(sizes[labels[k]] ?? 0) {
                assignment[labels[k]] = v
                visit(k + 1)
            }
        }
        visit(0)
        for (got, want) in zip(y.scalars, expected) { #expect(abs(Double(got) - want) < 1e-4) }
        let second = GradientCheck.checkSecondOrder([a, b]) { xs in
            let y = (try? graph.run(["a": xs[0], "b": xs[1]])["y"]) ?? Tensor(0)
            return (y * y).sum()
        }
        #expect(second.passed, "\(second)")
    }
}
