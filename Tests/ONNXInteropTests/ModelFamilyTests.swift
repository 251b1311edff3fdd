import Foundation
import NPY
import TensorEngine
import TensorEngineTestSupport
import Testing

@testable import ONNXInterop

/// Today's classifier families, small seeded configurations exported from torchvision by both of
/// PyTorch's exporters, TorchScript at opset 17 and dynamo at opset 20 (scripts/export_families.py,
/// committed output in
/// Tests/Fixtures/families): rkd imports each, matches onnxruntime's logits within 1e-4 relative, and
/// its input gradients match central differences.
@Suite("Model families")
struct ModelFamilyTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/families")

    static func array(_ name: String) throws -> NPYArray {
        try NPYArray(npy: try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    @Test(arguments: ["vit", "convnext", "swin", "efficientnet", "mobilenetv3"], ["", ".dynamo"])
    func importsMatchesOnnxruntimeAndDifferentiates(_ family: String, _ exporter: String) throws {
        let model = try ONNXModel(contentsOf: Self.directory.appendingPathComponent("\(family)\(exporter).onnx"))
        let graph = try ImportedGraph(model)
        let input = try Self.array("\(family).input.npy")
        let expected = try Self.array("\(family)\(exporter).logits.npy")
        let x = Tensor(shape: input.shape, scalars: input.floats)
        let (inputName, outputName) = (graph.inputNames[0], graph.outputNames[0])
        let logits = try #require(try graph.run([inputName: x])[outputName])
        #expect(logits.shape == expected.shape)
        let scale = expected.floats.map { abs($0) }.max() ?? 1
        let worst = zip(logits.scalars, expected.floats).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4 * scale, "\(family): worst difference \(worst) (largest logit \(scale))")
        print(
            "family \(family)\(exporter): nodes \(model.summary.operators.map(\.count).reduce(0, +)), worst |Δlogit| \(worst), largest logit \(scale)"
        )

        // Input gradient of a fixed projection of the logits against central differences.
        var random = RandomGenerator(seed: 5)
        let weights = Tensor(shape: logits.shape, scalars: (0..<logits.count).map { _ in random.nextNormal() })
        let check = GradientCheck.check([x], step: 1e-2, maxElements: 24) { xs in
            let y = (try? graph.run([inputName: xs[0]])[outputName]) ?? Tensor(0)
            return (y * weights).sum()
        }
        #expect(check.passed, "\(family): \(check)")
    }
}
