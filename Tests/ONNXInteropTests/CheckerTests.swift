import Foundation
import Testing

@testable import ONNXInterop

/// libonnx's checker through the ONNXChecker shim: verdicts, messages, and the advisory cases.
@Suite("libonnx checker verdicts")
struct CheckerTests {
    @Test func libonnxReportsItsOpsetAndIRVersion() {
        // Debian 12's libonnx 1.12 knows opsets up to 17 and IR version 8.
        #expect(ONNXModel.checkerOpset == 17)
        #expect(ONNXModel.checkerIRVersion == 8)
    }

    @Test(arguments: [
        "pytorch-converted/test_Conv2d", "pytorch-converted/test_BatchNorm2d_eval",
        "pytorch-operator/test_operator_view", "node/test_if",
    ])
    func exportedModelsAreValid(_ path: String) throws {
        let model = try ONNXModel(serialized: try TestModels.testModel(path))
        let verdict = model.check()
        #expect(verdict.status == .valid, "\(path): \(verdict.message)")
        #expect(verdict.message.isEmpty)
        #expect(model.check(inferShapes: true).status == .valid)
        #expect(verdict.checkerOpset == 17)
    }

    /// An operator libonnx has never heard of, in the default domain: invalid, in libonnx's words.
    @Test func unknownOperatorIsInvalidWithLibonnxMessage() throws {
        let proto = TestModels.model(
            TestModels.graph(
                nodes: [TestModels.node("NoSuchOperator", ["x"], ["y"])],
                inputs: [TestModels.valueInfo("x", [1, 2])],
                outputs: [TestModels.valueInfo("y", [1, 2])]
            )
        )
        let verdict = try ONNXModel(serialized: try TestModels.bytes(proto)).check()
        #expect(verdict.status == .invalid)
        #expect(verdict.message.contains("No Op registered for NoSuchOperator"), "\(verdict.message)")
    }

    /// A node reading a value nothing produces: invalid (the importer says the same, in its words).
    @Test func danglingInputIsInvalid() throws {
        let proto = TestModels.model(
            TestModels.graph(
                nodes: [TestModels.node("Relu", ["nowhere"], ["y"])],
                inputs: [TestModels.valueInfo("x", [1, 2])],
                outputs: [TestModels.valueInfo("y", [1, 2])]
            )
        )
        let verdict = try ONNXModel(serialized: try TestModels.bytes(proto)).check()
        #expect(verdict.status == .invalid)
        #expect(verdict.message.contains("nowhere"), "\(verdict.message)")
    }

    /// Declared shapes that contradict the operator: shape inference (non-strict, asked for on
    /// this trusted hand-made model) reports the clash; the checker alone does not look at shapes.
    @Test func shapeInferenceConflictIsInvalid() throws {
        let proto = TestModels.model(
            TestModels.graph(
                nodes: [TestModels.node("Relu", ["x"], ["y"])],
                inputs: [TestModels.valueInfo("x", [1, 2])],
                outputs: [TestModels.valueInfo("y", [3, 5])]
            )
        )
        let model = try ONNXModel(serialized: try TestModels.bytes(proto))
        #expect(model.check().status == .valid)
        let verdict = model.check(inferShapes: true)
        #expect(verdict.status == .invalid)
        #expect(verdict.message.hasPrefix("shape inference:"), "\(verdict.message)")
    }

    /// Opset 18 is newer than libonnx 1.12 knows: the verdict is advisory and says so, even when
    /// the checker finds something.
    @Test func newerOpsetIsAdvisory() throws {
        let relu = TestModels.model(
            TestModels.graph(
                nodes: [TestModels.node("Relu", ["x"], ["y"])],
                inputs: [TestModels.valueInfo("x", [1, 2])],
                outputs: [TestModels.valueInfo("y", [1, 2])]
            ),
            opset: 18
        )
        let verdict = try ONNXModel(serialized: try TestModels.bytes(relu)).check()
        #expect(verdict.status == .advisory)
        #expect(verdict.message.contains("opset 18"), "\(verdict.message)")
        #expect(verdict.message.contains("up to 17"), "\(verdict.message)")

        var broken = relu
        broken.graph.node[0].opType = "NoSuchOperator"
        let brokenVerdict = try ONNXModel(serialized: try TestModels.bytes(broken)).check()
        #expect(brokenVerdict.status == .advisory)
        #expect(brokenVerdict.message.contains("No Op registered for NoSuchOperator"), "\(brokenVerdict.message)")
    }

    /// IR version 10 (what onnx 1.16+ writes): libonnx 1.12 alone would refuse it outright; the
    /// verdict is advisory and the rest of the model is still checked.
    @Test func newerIRVersionIsAdvisoryAndStillChecked() throws {
        var model = try ONNXModel(serialized: try TestModels.testModel("pytorch-converted/test_Conv2d")).proto
        model.irVersion = 10
        let verdict = try ONNXModel(serialized: try TestModels.bytes(model)).check()
        #expect(verdict.status == .advisory)
        #expect(verdict.message.contains("IR version 10"), "\(verdict.message)")
        #expect(verdict.message.contains("libonnx reported no error"), "\(verdict.message)")
    }

    /// External data is never handed to libonnx 1.12, which would look the location up on this
    /// machine (an existence oracle for any path).
    @Test func externalDataIsNotChecked() throws {
        var weight = TestModels.floatTensor("w", dims: [2], values: [])
        weight.dataLocation = .external
        var entry = Onnx_StringStringEntryProto()
        entry.key = "location"
        entry.value = "/etc/passwd"
        weight.externalData = [entry]
        let proto = TestModels.model(
            TestModels.graph(
                nodes: [TestModels.node("Add", ["x", "w"], ["y"])],
                inputs: [TestModels.valueInfo("x", [2])],
                outputs: [TestModels.valueInfo("y", [2])],
                initializers: [weight]
            )
        )
        let verdict = try ONNXModel(serialized: try TestModels.bytes(proto)).check()
        #expect(verdict.status == .advisory)
        #expect(verdict.message.contains("'w'") && verdict.message.contains("external"), "\(verdict.message)")
        #expect(!verdict.message.contains("passwd"))
    }

    /// The shim is safe to call from several threads at once.
    @Test func concurrentChecksAgree() async throws {
        let valid = try ONNXModel(serialized: try TestModels.testModel("pytorch-converted/test_Conv2d"))
        let invalidProto = TestModels.model(
            TestModels.graph(
                nodes: [TestModels.node("NoSuchOperator", ["x"], ["y"])],
                inputs: [TestModels.valueInfo("x", [1])],
                outputs: [TestModels.valueInfo("y", [1])]
            )
        )
        let invalid = try ONNXModel(serialized: try TestModels.bytes(invalidProto))
        let statuses = await withTaskGroup(of: (Int, CheckerVerdict.Status).self) { group in
            for i in 0..<16 {
                group.addTask { (i, (i % 2 == 0 ? valid : invalid).check().status) }
            }
            var result: [(Int, CheckerVerdict.Status)] = []
            for await entry in group { result.append(entry) }
            return result
        }
        #expect(statuses.count == 16)
        for (i, status) in statuses { #expect(status == (i % 2 == 0 ? .valid : .invalid)) }
    }
}
