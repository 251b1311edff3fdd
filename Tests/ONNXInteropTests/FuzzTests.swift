import Foundation
import TensorEngine
import Testing

@testable import ONNXInterop

/// Seeded mutation fuzzing of the whole import path: thousands of truncated, corrupted and
/// structurally tampered models, drawn from ONNX's own test models, go through parse → libonnx
/// check → import → run on the model's test input. Every outcome must be success or an
/// `ONNXError` with a message; any other error fails the test, and a crash fails the run.
///
/// `RKD_FUZZ_CASES` sets the number of cases (default 10000); `RKD_FUZZ_SEED` the seed;
/// `RKD_FUZZ_VERBOSE=1` prints each case before it runs and writes its bytes to
/// `$TMPDIR/rkd-fuzz-last.onnx`, to find and keep the one that crashed.
@Suite("Fuzzing the importer with mutated models")
struct FuzzTests {
    /// Varied models: convolutions, pooling, normalisation and dense layers with initializers;
    /// PyTorch's shape subgraphs (Constant, Shape, Gather, Concat, Reshape); single-node tests of
    /// the operators that size their output from data (ConstantOfShape, Expand, Reshape, Slice).
    static let corpus = [
        "pytorch-converted/test_Conv2d", "pytorch-converted/test_Conv2d_groups",
        "pytorch-converted/test_Conv2d_depthwise_strided", "pytorch-converted/test_Conv2d_dilated",
        "pytorch-converted/test_Conv2d_padding", "pytorch-converted/test_BatchNorm2d_eval",
        "pytorch-converted/test_Linear", "pytorch-converted/test_MaxPool2d", "pytorch-converted/test_AvgPool2d_stride",
        "pytorch-converted/test_PReLU_2d_multiparam", "pytorch-converted/test_ELU", "pytorch-converted/test_Softmax",
        "pytorch-converted/test_ZeroPad2d", "pytorch-converted/test_PixelShuffle", "pytorch-converted/test_Embedding",
        "pytorch-converted/test_GLU", "pytorch-operator/test_operator_view", "pytorch-operator/test_operator_flatten",
        "pytorch-operator/test_operator_concat2", "pytorch-operator/test_operator_reduced_mean_keepdim",
        "pytorch-operator/test_operator_clip", "pytorch-operator/test_operator_params",
        "pytorch-operator/test_operator_addmm", "pytorch-operator/test_operator_index",
        "pytorch-operator/test_operator_permute2", "pytorch-operator/test_operator_non_float_params",
        "pytorch-operator/test_operator_repeat", "pytorch-operator/test_operator_pad",
        "node/test_constantofshape_float_ones", "node/test_reshape_negative_dim", "node/test_expand_dim_changed",
        "node/test_slice", "node/test_unsqueeze_axis_0", "node/test_gather_0", "node/test_gemm_default_matrix_bias",
        "node/test_conv_with_strides_padding", "node/test_batchnorm_example", "node/test_maxpool_2d_pads",
        "node/test_if", "simple/test_expand_shape_model1",
    ]

    struct Seed {
        let path: String
        let bytes: [UInt8]
        /// test_data_set_0's inputs, in order.
        let inputs: [Tensor]
    }

    static func loadSeeds() throws -> [Seed] {
        try corpus.map { path in
            let directory = TestModels.testData.appendingPathComponent(path)
            let bytes = try Data(contentsOf: directory.appendingPathComponent("model.onnx"))
            var inputs: [Tensor] = []
            let dataSet = directory.appendingPathComponent("test_data_set_0")
            while true {
                let file = dataSet.appendingPathComponent("input_\(inputs.count).pb")
                guard let data = try? Data(contentsOf: file) else { break }
                inputs.append(try ONNXTensorFile.decode(data).tensor)
            }
            return Seed(path: path, bytes: [UInt8](bytes), inputs: inputs)
        }
    }

    /// What happened to one case.
    enum Outcome: Hashable, CustomStringConvertible {
        case ran
        case refused(stage: String, code: String)

        var description: String {
            switch self {
            case .ran: "imported and ran"
            case .refused(let stage, let code): "\(stage): ONNXError.\(code)"
            }
        }
    }

    @Test func mutatedModelsImportOrFailCleanly() throws {
        let environment = ProcessInfo.processInfo.environment
        let cases = environment["RKD_FUZZ_CASES"].flatMap { Int($0) } ?? 10000
        let seed = environment["RKD_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0A11
        let verbose = environment["RKD_FUZZ_VERBOSE"] == "1"
        let seeds = try Self.loadSeeds()
        let trees = seeds.map { WireFormat.parse($0.bytes[...]) }
        for (seedModel, tree) in zip(seeds, trees) {
            // The structural mutations rely on re-serialising an unmodified tree exactly.
            #expect(tree.map(WireFormat.serialize) == seedModel.bytes, "\(seedModel.path) does not round-trip")
        }

        var rng = RandomGenerator(seed: seed)
        var outcomes: [Outcome: Int] = [:]
        var byMutation: [String: Int] = [:]
        var verdicts: [CheckerVerdict.Status: Int] = [:]
        var slowest: (seconds: Double, label: String) = (0, "")
        let clock = ContinuousClock()
        let started = clock.now
        for index in 0..<cases {
            let pick = rng.nextInt(below: seeds.count)
            let (mutation, bytes) = Mutator.mutate(seeds[pick].bytes, tree: trees[pick], rng: &rng)
            let label = "case \(index) (\(seeds[pick].path), \(mutation))"
            if verbose {
                print("fuzz: \(label)")
                try Data(bytes).write(to: URL(fileURLWithPath: NSTemporaryDirectory() + "rkd-fuzz-last.onnx"))
            }
            byMutation[mutation, default: 0] += 1
            let caseStart = clock.now
            let (outcome, verdict) = Self.exercise(Data(bytes), inputs: seeds[pick].inputs, label: label)
            let elapsed = caseStart.duration(to: clock.now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            if seconds > slowest.seconds { slowest = (seconds, label) }
            if let outcome { outcomes[outcome, default: 0] += 1 }
            if let verdict { verdicts[verdict, default: 0] += 1 }
        }
        let total = started.duration(to: clock.now)

        let lines = outcomes.sorted { $0.value > $1.value }.map { "  \($0.value)\t\($0.key)" }
        print(
            """
            fuzz: \(cases) cases from \(seeds.count) models, seed \(seed), in \(total)
            fuzz: mutations \(byMutation.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            fuzz: libonnx verdicts on the models that parsed: \(verdicts.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            fuzz: slowest case \(String(format: "%.3f", slowest.seconds)) s: \(slowest.label)
            fuzz: outcomes
            \(lines.joined(separator: "\n"))
            """
        )
        // The mutations are not all fatal, nor all harmless: the fuzzer reaches every stage.
        #expect(outcomes[.ran, default: 0] > cases / 50)
        #expect(outcomes.keys.contains { if case .refused("parse", _) = $0 { true } else { false } })
        #expect(outcomes.keys.contains { if case .refused("run", _) = $0 { true } else { false } })
    }

    /// One case through every stage; records an issue for anything but success or a clean ONNXError.
    static func exercise(_ bytes: Data, inputs: [Tensor], label: String) -> (Outcome?, CheckerVerdict.Status?) {
        var stage = "parse"
        var verdict: CheckerVerdict.Status?
        do {
            let model = try ONNXModel(serialized: bytes)
            let checked = model.check()
            verdict = checked.status
            if checked.status != .valid && checked.message.isEmpty {
                Issue.record("\(label): libonnx verdict \(checked.status) without a message")
            }
            stage = "import"
            let graph = try ImportedGraph(model)
            stage = "run"
            var feeds: [String: Tensor] = [:]
            for (name, value) in zip(graph.inputNames, inputs) { feeds[name] = value }
            let results = try graph.run(feeds)
            if results.isEmpty && !graph.outputNames.isEmpty {
                Issue.record("\(label): the run returned no outputs for \(graph.outputNames)")
            }
            return (.ran, verdict)
        } catch let error as ONNXError {
            if error.message.isEmpty { Issue.record("\(label): ONNXError \(error.code) at \(stage) has no message") }
            return (.refused(stage: stage, code: error.code.description), verdict)
        } catch {
            Issue.record("\(label): \(stage) threw \(type(of: error)), not ONNXError: \(error)")
            return (nil, verdict)
        }
    }
}

/// The protobuf wire format as a tree, enough to tamper with fields and re-serialise with correct
/// lengths. A length-delimited field is read as a nested message when its bytes parse as one.
enum WireFormat {
    indirect enum Value {
        case varint(UInt64)
        case fixed64([UInt8])
        case fixed32([UInt8])
        case bytes([UInt8])
        case message([Field])
    }

    struct Field {
        var number: UInt64
        var value: Value
    }

    static func parse(_ bytes: ArraySlice<UInt8>, depth: Int = 0) -> [Field]? {
        var fields: [Field] = []
        var i = bytes.startIndex
        func varint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.endIndex, shift < 64 {
                let byte = bytes[i]
                i += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
            return nil
        }
        while i < bytes.endIndex {
            guard let key = varint(), key >> 3 != 0 else { return nil }
            let number = key >> 3
            switch key & 7 {
            case 0:
                guard let v = varint() else { return nil }
                fields.append(Field(number: number, value: .varint(v)))
            case 1:
                guard bytes.endIndex - i >= 8 else { return nil }
                fields.append(Field(number: number, value: .fixed64(Array(bytes[i..<i + 8]))))
                i += 8
            case 5:
                guard bytes.endIndex - i >= 4 else { return nil }
                fields.append(Field(number: number, value: .fixed32(Array(bytes[i..<i + 4]))))
                i += 4
            case 2:
                guard let length = varint(), length <= UInt64(bytes.endIndex - i) else { return nil }
                let body = bytes[i..<i + Int(length)]
                i += Int(length)
                if depth < 24, !body.isEmpty, let nested = parse(body, depth: depth + 1) {
                    fields.append(Field(number: number, value: .message(nested)))
                } else {
                    fields.append(Field(number: number, value: .bytes(Array(body))))
                }
            default:
                return nil
            }
        }
        return fields
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func serialize(_ fields: [Field]) -> [UInt8] {
        var out: [UInt8] = []
        for field in fields {
            switch field.value {
            case .varint(let v):
                appendVarint(field.number << 3, to: &out)
                appendVarint(v, to: &out)
            case .fixed64(let b):
                appendVarint(field.number << 3 | 1, to: &out)
                out += b
            case .fixed32(let b):
                appendVarint(field.number << 3 | 5, to: &out)
                out += b
            case .bytes(let b):
                appendVarint(field.number << 3 | 2, to: &out)
                appendVarint(UInt64(b.count), to: &out)
                out += b
            case .message(let nested):
                let body = serialize(nested)
                appendVarint(field.number << 3 | 2, to: &out)
                appendVarint(UInt64(body.count), to: &out)
                out += body
            }
        }
        return out
    }

    /// How many varint fields, and how many messages (the top level included), the tree holds.
    static func census(_ fields: [Field]) -> (varints: Int, messages: Int) {
        var varints = 0
        var messages = 1
        for field in fields {
            switch field.value {
            case .varint: varints += 1
            case .message(let nested):
                let inner = census(nested)
                varints += inner.varints
                messages += inner.messages
            default: break
            }
        }
        return (varints, messages)
    }

    /// Applies `change` to the `target`-th varint (in document order); `target` counts down.
    static func editVarint(_ fields: inout [Field], _ target: inout Int, _ change: (UInt64) -> UInt64) {
        for index in fields.indices {
            switch fields[index].value {
            case .varint(let v):
                if target == 0 {
                    fields[index].value = .varint(change(v))
                    target = -1
                    return
                }
                target -= 1
            case .message(var nested):
                editVarint(&nested, &target, change)
                fields[index].value = .message(nested)
                if target < 0 { return }
            default: break
            }
        }
    }

    /// Applies `change` to the field list of the `target`-th message (the top level is 0).
    static func editMessage(_ fields: inout [Field], _ target: inout Int, _ change: (inout [Field]) -> Void) {
        if target == 0 {
            change(&fields)
            target = -1
            return
        }
        target -= 1
        for index in fields.indices {
            guard case .message(var nested) = fields[index].value else { continue }
            editMessage(&nested, &target, change)
            fields[index].value = .message(nested)
            if target < 0 { return }
        }
    }
}

/// The mutations: byte-level damage, and structural tampering that keeps the protobuf well formed
/// so that it reaches the importer's semantic checks.
enum Mutator {
    /// Values that break size arithmetic: zero, one, powers of two near the 32- and 64-bit edges,
    /// and negative numbers as int64 varints encode them.
    static let extremes: [UInt64] = [
        0, 1, 2, 3, 7, 64, 255, 1 << 16, (1 << 31) - 1, 1 << 31, 1 << 32, 1 << 40, 1 << 62, 1 << 63,
        UInt64.max, UInt64.max - 1, UInt64(bitPattern: -(1 << 31)),
    ]

    static func mutate(
        _ original: [UInt8],
        tree: [WireFormat.Field]?,
        rng: inout RandomGenerator
    ) -> (String, [UInt8]) {
        var bytes = original
        let kind = rng.nextInt(below: tree == nil ? 5 : 9)
        switch kind {
        case 0:
            return ("truncate", Array(bytes.prefix(rng.nextInt(below: bytes.count))))
        case 1:
            for _ in 0..<(1 + rng.nextInt(below: 8)) {
                bytes[rng.nextInt(below: bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
            }
            return ("flip bytes", bytes)
        case 2:
            for _ in 0..<(1 + rng.nextInt(below: 4)) {
                bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.nextInt(below: bytes.count + 1))
            }
            return ("insert bytes", bytes)
        case 3:
            for _ in 0..<(1 + rng.nextInt(below: 4)) where bytes.count > 1 {
                bytes.remove(at: rng.nextInt(below: bytes.count))
            }
            return ("delete bytes", bytes)
        case 4:
            let start = rng.nextInt(below: bytes.count)
            let length = 1 + rng.nextInt(below: min(64, bytes.count - start))
            let span = bytes[start..<start + length]
            bytes.insert(contentsOf: span, at: rng.nextInt(below: bytes.count + 1))
            return ("duplicate span", bytes)
        default:
            return structural(kind, tree ?? [], rng: &rng)
        }
    }

    static func structural(_ kind: Int, _ tree: [WireFormat.Field], rng: inout RandomGenerator) -> (String, [UInt8]) {
        var fields = tree
        let census = WireFormat.census(fields)
        switch kind {
        case 5, 6:
            // Tampering with a varint is the most productive mutation, so it gets two slots.
            guard census.varints > 0 else { return ("tamper varint (none)", WireFormat.serialize(fields)) }
            var target = rng.nextInt(below: census.varints)
            let extreme = extremes[rng.nextInt(below: extremes.count)]
            let nudge = rng.nextInt(below: 3)
            WireFormat.editVarint(&fields, &target) { old in
                nudge == 0 ? extreme : (nudge == 1 ? old &+ 1 : old &- 1)
            }
            return ("tamper varint", WireFormat.serialize(fields))
        case 7:
            var target = rng.nextInt(below: census.messages)
            let choice = rng.next()
            let position = rng.next()
            WireFormat.editMessage(&fields, &target) { message in
                guard !message.isEmpty else { return }
                let field = message[Int(choice % UInt64(message.count))]
                message.insert(field, at: Int(position % UInt64(message.count + 1)))
            }
            return ("duplicate field", WireFormat.serialize(fields))
        default:
            var target = rng.nextInt(below: census.messages)
            let choice = rng.next()
            let other = rng.next()
            let swap = rng.nextInt(below: 2) == 0
            WireFormat.editMessage(&fields, &target) { message in
                guard !message.isEmpty else { return }
                let i = Int(choice % UInt64(message.count))
                if swap {
                    message.swapAt(i, Int(other % UInt64(message.count)))
                } else {
                    message.remove(at: i)
                }
            }
            return (swap ? "swap fields" : "drop field", WireFormat.serialize(fields))
        }
    }
}
