import Foundation
import ONNXInterop
import TensorEngine
import TensorEngineTestSupport
import Testing

private let testData = URL(fileURLWithPath: "/usr/share/libonnx-testdata/data")

private func model(_ path: String) throws -> ONNXModel {
    try ONNXModel(contentsOf: testData.appendingPathComponent(path).appendingPathComponent("model.onnx"))
}

@Suite("Importing ONNX graphs: gradients and hostile input")
struct ImportTests {
    /// Input gradients through imported PyTorch-exported graphs equal central finite differences.
    @Test(arguments: [
        "pytorch-converted/test_Conv2d", "pytorch-converted/test_Conv2d_depthwise_strided",
        "pytorch-converted/test_BatchNorm2d_eval",
    ])
    func inputGradientMatchesFiniteDifferences(_ path: String) throws {
        let graph = try ImportedGraph(try model(path))
        let inputName = try #require(graph.inputNames.first)
        let data = try Data(
            contentsOf: testData.appendingPathComponent(path)
                .appendingPathComponent("test_data_set_0/input_0.pb")
        )
        let x = try ONNXTensorFile.decode(data).tensor
        let result = GradientCheck.check([x], step: 1e-2, maxElements: 40) { xs in
            // The same run succeeds outside the closure; a failure here would give a zero and fail the check.
            let y = (try? graph.run([inputName: xs[0]]))?[graph.outputNames[0]] ?? Tensor(0)
            return GradientCheck.projection(y)
        }
        #expect(result.passed, "\(path): \(result)")
        // Parameters are tracked leaves: a weight gradient exists too.
        #expect(!graph.parameters.isEmpty)
    }

    @Test func unsupportedOperatorNamesTheNode() throws {
        let error = #expect(throws: ONNXError.self) { try ImportedGraph(try model("node/test_acos")) }
        #expect(error?.code == .unsupported)
        #expect(error?.description.contains("Acos") == true)
        #expect(error?.node != nil)
    }

    @Test func oversizeFilesAreRefusedBeforeParsing() throws {
        var limits = ImportLimits()
        limits.maximumFileBytes = 100
        let error = #expect(throws: ONNXError.self) {
            try ONNXModel(
                contentsOf: testData.appendingPathComponent("pytorch-converted/test_Conv2d/model.onnx"),
                limits: limits
            )
        }
        #expect(error?.code == .limitExceeded)
    }
}
