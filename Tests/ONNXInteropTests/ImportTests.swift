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

    @Test func truncatedAndGarbageFilesAreCleanErrors() throws {
        let bytes = try Data(contentsOf: testData.appendingPathComponent("pytorch-converted/test_Conv2d/model.onnx"))
        var rng = RandomGenerator(seed: 99)
        var thrown = 0
        var accepted = 0
        for i in 0..<400 {
            var mutated = bytes
            if i % 2 == 0 {
                mutated = mutated.prefix(rng.nextInt(below: bytes.count))
            } else {
                for _ in 0..<(1 + rng.nextInt(below: 8)) {
                    let at = rng.nextInt(below: mutated.count)
                    mutated[mutated.startIndex + at] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            do {
                let m = try ONNXModel(serialized: mutated)
                let graph = try ImportedGraph(m)
                if let name = graph.inputNames.first {
                    _ = try withoutGradients { try graph.run([name: Tensor(zeros: [1, 16, 7, 7])]) }
                }
                accepted += 1
            } catch is ONNXError {
                thrown += 1
            }
        }
        // Every file either imports or throws ONNXError; none crashes the process.
        #expect(thrown + accepted == 400)
        #expect(thrown > 100)
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
