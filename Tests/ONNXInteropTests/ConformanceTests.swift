import Foundation
import SwiftProtobuf
import TensorEngine
import TensorEngineTestSupport
import Testing

@testable import ONNXInterop

/// ONNX's own backend node tests (Debian's libonnx-testdata): every case whose operators rkd
/// supports must reproduce the shipped outputs (rtol = atol = 1e-4).
struct ConformanceRunner {
    static let root = URL(fileURLWithPath: "/usr/share/libonnx-testdata/data")

    enum Outcome: Equatable {
        case passed
        case failed(String)
        case unsupported(String)
    }

    struct Case {
        var suite: String
        var name: String
        var operators: [String]
        var outcome: Outcome
    }

    static func run(suites: [String] = ["node", "pytorch-converted", "pytorch-operator", "simple"]) -> [Case] {
        var cases: [Case] = []
        let fm = FileManager.default
        for suite in suites {
            let dir = root.appendingPathComponent(suite)
            guard let names = try? fm.contentsOfDirectory(atPath: dir.path) else { continue }
            for name in names.sorted() {
                let caseDir = dir.appendingPathComponent(name)
                cases.append(runCase(suite: suite, name: name, directory: caseDir))
            }
        }
        return cases
    }

    /// A test input file as a tensor. ONNX 1.12 stores the inputs of bfloat16-typed graph inputs as
    /// UINT16 tensors of their bit patterns (NumPy has no bfloat16); those are read back as the
    /// bfloat16 values they encode.
    static func inputTensor(_ data: Data, declared: Int32?) throws -> Tensor {
        let proto = try Onnx_TensorProto(serializedBytes: data)
        if declared == Int32(Onnx_TensorProto.DataType.bfloat16.rawValue),
            proto.dataType == Int32(Onnx_TensorProto.DataType.uint16.rawValue),
            case .int(let shape, let bits) = try TensorDecoding.decode(proto, limits: .default)
        {
            return Tensor(shape: shape, scalars: bits.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0) << 16) })
        }
        return try ONNXTensorFile.decode(data).tensor
    }

    static func runCase(suite: String, name: String, directory: URL) -> Case {
        let modelURL = directory.appendingPathComponent("model.onnx")
        let model: ONNXModel
        do {
            model = try ONNXModel(contentsOf: modelURL)
        } catch {
            return Case(suite: suite, name: name, operators: [], outcome: .unsupported("\(error)"))
        }
        let operators = model.operatorCounts.map(\.op)
        let graph: ImportedGraph
        do {
            graph = try ImportedGraph(model)
        } catch {
            return Case(suite: suite, name: name, operators: operators, outcome: .unsupported("\(error)"))
        }
        let fm = FileManager.default
        let sets = ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? []).filter {
            $0.hasPrefix("test_data_set")
        }.sorted()
        if sets.isEmpty {
            return Case(suite: suite, name: name, operators: operators, outcome: .unsupported("no test data"))
        }
        for set in sets {
            let setDir = directory.appendingPathComponent(set)
            do {
                var inputs: [String: Tensor] = [:]
                // Integer inputs arrive as whole-number floats; the graph binds those it declares
                // integer as integer values.
                for (i, inputName) in graph.inputNames.enumerated() {
                    let data = try Data(contentsOf: setDir.appendingPathComponent("input_\(i).pb"))
                    let declared = model.proto.graph.input.first { $0.name == inputName }?.type.tensorType.elemType
                    inputs[inputName] = try inputTensor(data, declared: declared)
                }
                let outputs = try withoutGradients { try graph.run(inputs) }
                for (i, outputName) in graph.outputNames.enumerated() {
                    let data = try Data(contentsOf: setDir.appendingPathComponent("output_\(i).pb"))
                    let (expected, _) = try ONNXTensorFile.decode(data)
                    guard let actual = outputs[outputName] else {
                        return Case(
                            suite: suite,
                            name: name,
                            operators: operators,
                            outcome: .failed("no output \(outputName)")
                        )
                    }
                    guard
                        actual.shape == expected.shape
                            || actual.count == expected.count && expected.shape.isEmpty == actual.shape.isEmpty
                    else {
                        return Case(
                            suite: suite,
                            name: name,
                            operators: operators,
                            outcome: .failed("\(set) output \(i): shape \(actual.shape), expected \(expected.shape)")
                        )
                    }
                    if !Tolerance.allClose(actual.scalars, expected.scalars, rtol: 1e-4, atol: 1e-4) {
                        let error = Tolerance.scaledMaxError(actual.scalars, expected.scalars)
                        return Case(
                            suite: suite,
                            name: name,
                            operators: operators,
                            outcome: .failed("\(set) output \(i): scaled max error \(error)")
                        )
                    }
                }
            } catch let error as ONNXError where error.code == .unsupported {
                return Case(suite: suite, name: name, operators: operators, outcome: .unsupported("\(error)"))
            } catch {
                return Case(suite: suite, name: name, operators: operators, outcome: .failed("\(set): \(error)"))
            }
        }
        return Case(suite: suite, name: name, operators: operators, outcome: .passed)
    }
}

@Suite("ONNX backend conformance (libonnx-testdata)")
struct ConformanceTests {
    @Test func supportedCasesReproduceTheShippedOutputs() throws {
        try #require(
            FileManager.default.fileExists(atPath: ConformanceRunner.root.path),
            "libonnx-testdata is missing; run scripts/bootstrap"
        )
        let cases = ConformanceRunner.run()
        let passed = cases.filter { $0.outcome == .passed }.count
        let failures = cases.compactMap { c -> String? in
            if case .failed(let why) = c.outcome { return "\(c.suite)/\(c.name): \(why)" }
            return nil
        }
        let unsupported = cases.count - passed - failures.count
        print("ONNX conformance: \(passed) passed, \(failures.count) failed, \(unsupported) unsupported")
        if let path = ProcessInfo.processInfo.environment["RKD_CONFORMANCE_REPORT"] {
            try ConformanceReport.markdown(cases).write(toFile: path, atomically: true, encoding: .utf8)
        }
        #expect(passed > 100)
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}
