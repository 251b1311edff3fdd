import Foundation
import TensorEngine
import Testing

@testable import ONNXInterop

/// Operators fed hostile attributes and inputs: each case was a crash (a trap on overflow, an
/// index out of range, a division by zero or an allocation of hundreds of gigabytes) found by the
/// fuzz test, and must now be an `ONNXError` raised before anything large is allocated. Integer
/// (shape) arithmetic must also be exact over the whole int64 range.
@Suite("Operator limits")
struct OperatorLimitTests {
    /// Runs one operator on `inputs` as the importer would.
    static func apply(
        _ opType: String,
        _ inputs: [Value?],
        attributes: [Onnx_AttributeProto] = [],
        outputs: Int = 1,
        opset: Int = 13,
        limits: ImportLimits = .default
    ) throws -> [Value] {
        let node = TestModels.node(
            opType,
            inputs.indices.map { "in\($0)" },
            (0..<outputs).map { "out\($0)" },
            attributes: attributes
        )
        let context = NodeContext(
            node: node,
            inputs: inputs,
            opset: opset,
            limits: limits,
            run: RunState(isTraining: false)
        )
        let implementation = try #require(OperatorRegistry.operators[opType])
        return try implementation(context)
    }

    /// The error `apply` throws; records an issue when it succeeds or throws something else.
    static func error(
        _ opType: String,
        _ inputs: [Value?],
        attributes: [Onnx_AttributeProto] = [],
        outputs: Int = 1,
        opset: Int = 13,
        limits: ImportLimits = .default,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ONNXError? {
        do {
            let results = try apply(
                opType,
                inputs,
                attributes: attributes,
                outputs: outputs,
                opset: opset,
                limits: limits
            )
            Issue.record("\(opType) succeeded with shapes \(results.map(\.shape))", sourceLocation: sourceLocation)
        } catch let error as ONNXError {
            return error
        } catch {
            Issue.record("\(opType) threw \(type(of: error)), not ONNXError: \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    static func expect(
        _ error: ONNXError?,
        _ code: ONNXError.Code,
        _ fragments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error else { return }
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
        }
    }

    // Attribute builders: the importer's own (ONNXGraphBuilder), and a STRING one.
    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto { .ints(name, values) }

    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto { .int(name, value) }

    static func string(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }

    static func floats(_ shape: [Int]) -> Value {
        .float(Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float($0 % 7) }))
    }

    static func intValues(_ values: [Int], shape: [Int]? = nil) -> Value {
        .int(shape: shape ?? [values.count], values: values)
    }

    /// A limit small enough that tests can reach it with tiny tensors.
    static var small: ImportLimits {
        var limits = ImportLimits()
        limits.maximumTensorElements = 1000
        return limits
    }

    // MARK: Convolution and pooling windows

    @Test func convPadsBeyondTheElementLimitAreRefused() {
        let e = Self.error(
            "Conv",
            [Self.floats([1, 1, 4, 4]), Self.floats([1, 1, 3, 3])],
            attributes: [Self.ints("pads", [1 << 31, 0, 0, 0])]
        )
        Self.expect(e, .limitExceeded, ["pads", "limit"])
    }

    @Test func convOutputOverTheLimitIsRefusedBeforeAllocation() {
        // Pads within the bound, but (2²⁰·2)² output positions.
        let pads = [1 << 20, 1 << 20, 1 << 20, 1 << 20]
        let e = Self.error(
            "Conv",
            [Self.floats([1, 1, 4, 4]), Self.floats([1, 1, 3, 3])],
            attributes: [Self.ints("pads", pads)]
        )
        Self.expect(e, .limitExceeded, ["output", "limit"])
    }

    @Test func convColumnWorkspaceOverTheLimitIsRefused() {
        // An 8×8 output of a 3×3 kernel over 4 channels: 2 304 workspace elements, output 64.
        let e = Self.error(
            "Conv",
            [Self.floats([1, 4, 10, 10]), Self.floats([1, 4, 3, 3])],
            attributes: [],
            limits: Self.small
        )
        Self.expect(e, .limitExceeded, ["workspace"])
    }

    @Test func convHugeGroupAndDilationAreRefused() {
        let x = Self.floats([1, 2, 5, 5])
        let w = Self.floats([2, 1, 3, 3])
        Self.expect(Self.error("Conv", [x, w], attributes: [Self.int("group", 1 << 62)]), .invalidGraph, ["group"])
        Self.expect(
            Self.error("Conv", [x, w], attributes: [Self.int("group", 2), Self.ints("dilations", [1 << 62, 1])]),
            .invalidGraph,
            ["dilations"]
        )
        Self.expect(
            Self.error("Conv", [x, w], attributes: [Self.int("group", 2), Self.ints("strides", [1])]),
            .unsupported,
            ["strides"]
        )
    }

    @Test func poolingWithFewerThanTwoStridesOrDilationsIsRefused() {
        let x = Self.floats([1, 1, 4, 4])
        for name in ["strides", "dilations"] {
            let e = Self.error("MaxPool", [x], attributes: [Self.ints("kernel_shape", [2, 2]), Self.ints(name, [1])])
            Self.expect(e, .unsupported, [name])
        }
    }

    @Test func samePaddingWithStrideZeroIsRefused() {
        let e = Self.error(
            "AveragePool",
            [Self.floats([1, 1, 4, 4])],
            attributes: [
                Self.ints("kernel_shape", [2, 2]), Self.ints("strides", [0, 0]), Self.string("auto_pad", "SAME_UPPER"),
            ]
        )
        Self.expect(e, .invalidGraph, ["strides"])
    }

    @Test func poolingPadsAsWideAsTheWindowAreRefused() {
        let e = Self.error(
            "MaxPool",
            [Self.floats([1, 1, 4, 4])],
            attributes: [Self.ints("kernel_shape", [2, 2]), Self.ints("pads", [1 << 20, 0, 0, 0])]
        )
        Self.expect(e, .invalidGraph, ["smaller than the window"])
    }

    @Test func validWindowsStillRun() throws {
        let y = try Self.apply(
            "MaxPool",
            [Self.floats([1, 1, 4, 4])],
            attributes: [
                Self.ints("kernel_shape", [3, 3]), Self.ints("pads", [2, 2, 2, 2]), Self.ints("strides", [2, 2]),
            ]
        )
        #expect(y.first?.shape == [1, 1, 3, 3])
        let z = try Self.apply(
            "Conv",
            [Self.floats([1, 2, 5, 5]), Self.floats([4, 1, 3, 3])],
            attributes: [Self.int("group", 2)]
        )
        #expect(z.first?.shape == [1, 4, 3, 3])
    }

    // MARK: Shapes computed from data

    @Test func reshapeToAnOverflowingShapeIsRefused() {
        let e = Self.error("Reshape", [Self.floats([2, 3]), Self.intValues([1 << 40, 1 << 40, -1])])
        Self.expect(e, .invalidGraph, ["cannot reshape"])
        let negative = Self.error("Reshape", [Self.floats([2, 3]), Self.intValues([-2, -3])])
        Self.expect(negative, .invalidGraph, ["cannot reshape"])
    }

    @Test func constantOfShapeOverTheLimitIsRefused() {
        let e = Self.error("ConstantOfShape", [Self.intValues([1 << 40, 1 << 40])])
        Self.expect(e, .limitExceeded, ["limit"])
        Self.expect(Self.error("ConstantOfShape", [Self.intValues([-1, 3])]), .invalidGraph, ["negative"])
    }

    @Test func splitSizesThatWouldOverflowTheirSumAreRefused() {
        let e = Self.error("Split", [Self.floats([3]), Self.intValues([Int.max, 2])], outputs: 2)
        Self.expect(e, .invalidGraph, ["split sizes"])
    }

    @Test func expandToANegativeOrHugeShapeIsRefused() {
        Self.expect(
            Self.error("Expand", [Self.floats([1, 4]), Self.intValues([-1, 4])]),
            .invalidGraph,
            ["negative"]
        )
        Self.expect(
            Self.error("Expand", [Self.floats([1, 1]), Self.intValues([1 << 20, 1 << 20])]),
            .limitExceeded,
            ["limit"]
        )
    }

    @Test func gatherAndConcatOutputsOverTheLimitAreRefused() {
        let gathered = Self.error(
            "Gather",
            [Self.floats([10, 100]), Self.intValues(Array(repeating: 1, count: 20))],
            limits: Self.small
        )
        Self.expect(gathered, .limitExceeded, ["output"])
        let joined = Self.error(
            "Concat",
            [Self.floats([600]), Self.floats([600])],
            attributes: [Self.int("axis", 0)],
            limits: Self.small
        )
        Self.expect(joined, .limitExceeded, ["output"])
    }

    @Test func broadcastsOverTheLimitAreRefused() {
        let a = Self.floats([100, 1])
        let b = Self.floats([1, 100])
        Self.expect(Self.error("Add", [a, b], limits: Self.small), .limitExceeded, ["broadcast"])
        Self.expect(Self.error("Max", [a, b], limits: Self.small), .limitExceeded, ["broadcast"])
        Self.expect(
            Self.error("Gemm", [Self.floats([100, 1]), Self.floats([1, 100])], limits: Self.small),
            .limitExceeded,
            ["output"]
        )
    }

    @Test func unsqueezePastTheRankLimitIsRefused() {
        let e = Self.error("Unsqueeze", [Self.floats([2]), Self.intValues(Array(0..<40))])
        Self.expect(e, .limitExceeded, ["rank"])
    }

    // MARK: Exact integer arithmetic

    @Test func integerArithmeticIsExactOverInt64() throws {
        let big = Int.max - 6
        let sum = try Self.apply("Add", [Self.intValues([big, -big]), Self.intValues([6])])
        #expect(try sum[0].asInts("sum", node: "t") == [Int.max, -big + 6])
        let product = try Self.apply("Mul", [Self.intValues([1 << 40 + 1]), Self.intValues([3])])
        #expect(try product[0].asInts("product", node: "t") == [3 << 40 + 3])
        let quotient = try Self.apply("Div", [Self.intValues([-7, 7, Int.max]), Self.intValues([2, -2, 1 << 33])])
        #expect(try quotient[0].asInts("quotient", node: "t") == [-3, -3, Int.max / (1 << 33)])
    }

    @Test func integerOverflowAndDivisionByZeroAreErrors() {
        Self.expect(Self.error("Add", [Self.intValues([Int.max]), Self.intValues([1])]), .invalidGraph, ["overflows"])
        Self.expect(
            Self.error("Mul", [Self.intValues([1 << 40]), Self.intValues([1 << 40])]),
            .invalidGraph,
            ["overflows"]
        )
        Self.expect(Self.error("Sub", [Self.intValues([Int.min]), Self.intValues([1])]), .invalidGraph, ["overflows"])
        Self.expect(Self.error("Div", [Self.intValues([5]), Self.intValues([0])]), .invalidGraph, ["divides by zero"])
        Self.expect(Self.error("Div", [Self.intValues([Int.min]), Self.intValues([-1])]), .invalidGraph, ["overflows"])
    }

    /// PyTorch exports slice ends as INT64_MAX, which shape subgraphs move through Unsqueeze and
    /// Concat: those values must survive exactly.
    @Test func layoutOperatorsMoveLargeIntegersExactly() throws {
        let unsqueezed = try Self.apply("Unsqueeze", [Self.intValues([Int.max], shape: []), Self.intValues([0])])
        #expect(unsqueezed[0].shape == [1])
        let joined = try Self.apply(
            "Concat",
            [unsqueezed[0], Self.intValues([Int.min + 1, 5])],
            attributes: [Self.int("axis", 0)]
        )
        #expect(try joined[0].asInts("joined", node: "t") == [Int.max, Int.min + 1, 5])
        let matrix = try Self.apply(
            "Concat",
            [Self.intValues([1, 2, 3, 4], shape: [2, 2]), Self.intValues([Int.max, Int.min], shape: [2, 1])],
            attributes: [Self.int("axis", 1)]
        )
        #expect(matrix[0].shape == [2, 3])
        #expect(try matrix[0].asInts("matrix", node: "t") == [1, 2, Int.max, 3, 4, Int.min])
        let gathered = try Self.apply("Gather", [joined[0], Self.intValues([2, 0])])
        #expect(try gathered[0].asInts("gathered", node: "t") == [5, Int.max])
        let padded = try Self.apply(
            "Pad",
            [Self.intValues([Int.max]), Self.intValues([1, 2]), Self.intValues([-9], shape: [])],
            opset: 13
        )
        #expect(try padded[0].asInts("padded", node: "t") == [-9, Int.max, -9, -9])
    }

    @Test func castSaturatesOutOfRangeFloats() throws {
        let x = Value.float(Tensor(shape: [4], scalars: [1e30, -1e30, .nan, -3.7]))
        var to = Self.int("to", Int(Onnx_TensorProto.DataType.int64.rawValue))
        let wide = try Self.apply("Cast", [x], attributes: [to])
        #expect(try wide[0].asInts("cast", node: "t") == [Int.max, Int.min, 0, -3])
        to = Self.int("to", Int(Onnx_TensorProto.DataType.int8.rawValue))
        let narrow = try Self.apply("Cast", [x], attributes: [to])
        #expect(try narrow[0].asInts("cast", node: "t") == [127, -128, 0, -3])
    }
}
