import Foundation
import NN
import SwiftProtobuf
import Testing

@testable import ONNXInterop
@testable import TensorEngine

/// x (2,3,6,6) → Conv(W 4×3×3×3, bias, pads 1) → c; Add(c, r) → s; Relu(s) → y, with `r` an
/// initializer of `residualShape` (a broadcasting Add when it is not (2,4,6,6)).
private func convAddReluModel(residualShape: [Int], residualFirst: Bool = false) throws -> ImportedGraph {
    var rng = RandomGenerator(seed: 9)
    func initializer(_ name: String, _ dims: [Int]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map(Int64.init)
        t.dataType = 1
        t.floatData = (0..<dims.reduce(1, *)).map { _ in rng.nextNormal() * 0.5 }
        return t
    }
    func node(_ op: String, _ inputs: [String], _ output: String) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = [output]
        return n
    }
    var conv = node("Conv", ["x", "W", "B"], "c")
    var pads = Onnx_AttributeProto()
    pads.name = "pads"
    pads.type = .ints
    pads.ints = [1, 1, 1, 1]
    conv.attribute = [pads]
    return try importedXToYGraph(
        nodes: [conv, node("Add", residualFirst ? ["r", "c"] : ["c", "r"], "s"), node("Relu", ["s"], "y")],
        initializers: [initializer("W", [4, 3, 3, 3]), initializer("B", [4]), initializer("r", residualShape)]
    )
}

/// The input gradient of ⟨run(x), probe⟩ and the gradient of its squared norm with respect to x
/// (second order), through `graph` asking for `outputs`.
private func inputDerivatives(
    _ graph: ImportedGraph,
    _ x: Tensor,
    output: String,
    asking outputs: [String]
) throws -> (first: Tensor, second: Tensor) {
    let tx = x.tracked()
    let y = try #require(try graph.run([graph.inputNames[0]: tx], outputs: [output] + outputs)[output])
    var rng = RandomGenerator(seed: 21)
    let probe = Tensor.uniform(y.shape, low: -1, high: 1, using: &rng)
    let dx = gradient(of: (tanh(y) * probe).sum(), wrt: [tx], createGraph: true)[0]
    let second = gradient(of: (dx * dx).sum(), wrt: [tx])[0]
    return (dx.detached, second)
}

/// How many recorded ops named `name` the tape of `y` holds.
private func recordedOps(_ name: String, in y: Tensor) -> Int {
    var seen = Set<ObjectIdentifier>()
    var stack = [y.node].compactMap { $0 }
    var count = 0
    while let node = stack.popLast() {
        guard seen.insert(ObjectIdentifier(node)).inserted else { continue }
        if node.name == name { count += 1 }
        stack += node.inputs.compactMap(\.node)
    }
    return count
}

private func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    let scale = max(b.scalars.map(abs).max() ?? 0, 1e-12)
    return (zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? .infinity) / scale
}

@Suite("Conv → Add → Relu chains run as one convolution with an epilogue")
struct ConvEpilogueChainTests {
    /// ResNet-20 as rkd exports it: the stem and every block's two convolutions form a chain (19),
    /// the projection blocks' second chain headed by bn2 (the shortcut is its residual).
    @Test func theExportedResNetHasAChainPerConvolutionPair() throws {
        let net = ResNet20(inputChannels: 1, imageSize: 8, width: 8, seed: 3)
        let graph = try ImportedGraph(try ONNXModel(serialized: try NNExport.exportedModel(net)))
        let chains = graph.epilogueChains.chainEndingAt.values
        #expect(chains.count == 19)
        #expect(chains.filter { $0.add != nil && $0.relu != nil }.count == 9)
        for chain in chains where chain.add != nil {
            #expect(graph.nodes[chain.head].name.hasSuffix("bn2"), "\(graph.nodes[chain.head].name)")
        }
        // Training runs do not fold batch norm: there the batch norms head the same 19 chains.
        // Every inference chain here is headed by a folded batch norm: none applies without the fold.
        #expect(graph.epilogueChains.active(excluding: [], fold: .none).chainEndingAt.isEmpty)
        let training = graph.trainingEpilogueChains.chainEndingAt.values
        #expect(training.count == 19)
        #expect(training.allSatisfy { $0.kind == .batchNorm })
    }

    /// Fused chains give the outputs of the node-by-node run (asking for the intermediate values
    /// keeps every chain apart) bit for bit, and the same first- and second-order input gradients;
    /// the NN model agrees.
    @Test func fusedResNetEqualsNodeByNode() throws {
        let net = ResNet20(inputChannels: 1, imageSize: 8, width: 8, seed: 5)
        let graph = try ImportedGraph(try ONNXModel(serialized: try NNExport.exportedModel(net)))
        let output = graph.outputNames[0]
        let intermediates = graph.epilogueChains.chainEndingAt.values.flatMap(\.intermediates)
        var rng = RandomGenerator(seed: 6)
        let x = Tensor.uniform([3, 1, 8, 8], using: &rng)
        let input = graph.inputNames[0]
        let fused = try #require(try graph.run([input: x])[output])
        let apart = try #require(try graph.run([input: x], outputs: [output] + intermediates)[output])
        #expect(fused.scalars == apart.scalars)
        let tape = try #require(try graph.run([input: x.tracked()])[output])
        #expect(recordedOps("conv2dReLU", in: tape) == 19)
        let nn = net.logits(x, context: ForwardContext())
        #expect(relativeError(fused, nn) < 1e-5)
    }

    /// In training mode the batch norms carry the epilogue: the same outputs as the node-by-node run
    /// and the same input derivatives, first and second order.
    @Test func fusedTrainingResNetEqualsNodeByNode() throws {
        let net = ResNet20(inputChannels: 1, imageSize: 8, width: 8, seed: 11)
        let graph = try ImportedGraph(try ONNXModel(serialized: try NNExport.exportedModel(net)))
        graph.isTraining = true
        let output = graph.outputNames[0]
        let input = graph.inputNames[0]
        let intermediates = graph.trainingEpilogueChains.chainEndingAt.values.flatMap(\.intermediates)
        var rng = RandomGenerator(seed: 12)
        let x = Tensor.uniform([4, 1, 8, 8], using: &rng)
        let tape = try #require(try graph.run([input: x.tracked()])[output])
        #expect(recordedOps("batchNormTrainingEpilogue", in: tape) == 19)
        let apartTape = try #require(try graph.run([input: x.tracked()], outputs: [output] + intermediates)[output])
        #expect(recordedOps("batchNormTrainingEpilogue", in: apartTape) == 0)
        #expect(tape.scalars == apartTape.scalars)
        let fused = try inputDerivatives(graph, x, output: output, asking: [])
        let apart = try inputDerivatives(graph, x, output: output, asking: intermediates)
        #expect(relativeError(fused.first, apart.first) < 1e-5)
        #expect(relativeError(fused.second, apart.second) < 1e-4)
        // The training step through the graph matches NN's ResNet-20 in training mode.
        let nn = net.logits(x, context: ForwardContext(isTraining: true))
        #expect(relativeError(tape, nn) < 1e-4)
    }

    @Test func fusedDerivativesEqualNodeByNode() throws {
        let net = SmallCNN(height: 8, width: 8, seed: 7)
        for training in [false, true] {
            let graph = try ImportedGraph(try ONNXModel(serialized: try NNExport.exportedModel(net)))
            graph.isTraining = training
            let chains = graph.epilogueChains.chainEndingAt.values
            #expect(chains.count == 2, "conv1 → relu and conv2 → relu")
            var rng = RandomGenerator(seed: 8)
            let x = Tensor.uniform([2, 1, 8, 8], using: &rng)
            let output = graph.outputNames[0]
            let tape = try #require(try graph.run([graph.inputNames[0]: x.tracked()])[output])
            #expect(recordedOps("conv2dReLU", in: tape) == 2, "training \(training)")
            let apartTape = try #require(
                try graph.run([graph.inputNames[0]: x.tracked()], outputs: [output] + chains.flatMap(\.intermediates))[
                    output
                ]
            )
            #expect(recordedOps("conv2dReLU", in: apartTape) == 0)
            let fused = try inputDerivatives(graph, x, output: output, asking: [])
            let apart = try inputDerivatives(graph, x, output: output, asking: chains.flatMap(\.intermediates))
            #expect(relativeError(fused.first, apart.first) < 1e-6, "training \(training)")
            #expect(relativeError(fused.second, apart.second) < 1e-5, "training \(training)")
            #expect(fused.second.scalars.contains { $0 != 0 })
        }
    }

    /// A residual that broadcasts (or sits first in the Add) runs node by node or fused with the
    /// same result as the unfused graph.
    @Test(arguments: [([2, 4, 6, 6], false), ([2, 4, 6, 6], true), ([1, 4, 1, 1], false), ([6], true)])
    func residualShapesAndOrder(_ shape: [Int], _ residualFirst: Bool) throws {
        let graph = try convAddReluModel(residualShape: shape, residualFirst: residualFirst)
        #expect(graph.epilogueChains.chainEndingAt.count == 1)
        var rng = RandomGenerator(seed: 10)
        let x = Tensor.uniform([2, 3, 6, 6], low: -1, high: 1, using: &rng)
        let fused = try #require(try graph.run(["x": x])["y"])
        let apart = try #require(try graph.run(["x": x], outputs: ["y", "c"])["y"])
        #expect(fused.shape == [2, 4, 6, 6])
        #expect(fused.scalars == apart.scalars)
        #expect(fused.scalars.contains { $0 == 0 } && fused.scalars.contains { $0 > 0 })
        let tape = try #require(try graph.run(["x": x.tracked()])["y"])
        #expect(
            recordedOps("conv2dReLU", in: tape) == (shape == [2, 4, 6, 6] ? 1 : 0),
            "fused only without broadcasting"
        )
        let first = try inputDerivatives(graph, x, output: "y", asking: [])
        let second = try inputDerivatives(graph, x, output: "y", asking: ["c"])
        #expect(relativeError(first.first, second.first) < 1e-6)
        #expect(relativeError(first.second, second.second) < 1e-5)
    }
}
