import ArgumentParser
import DaemonAPI
import Foundation
import NPY
import SwiftProtobuf

/// `rkdctl predict MODEL.onnx --input x.npy --output logits.npy`: one batch through the model (Predict).
struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run an ONNX model on a batch from a .npy file and save its outputs.",
        discussion: """
            The input is a float32 or float64 .npy array whose first dimension is the batch, with pixel \
            values in [0, 1] (e.g. numpy.save('x.npy', images.astype('float32') / 255)). The model's \
            output is written to --output as float32 .npy, shape [batch, classes] (its own output: \
            probabilities for a model that ends in Softmax; --logits writes the logits rkd attacks \
            instead), and the predicted \
            class of each row is printed. With --labels (an integer or whole-number .npy vector, one \
            class index per row) the summed cross-entropy is printed too, and --input-gradient saves its \
            gradient with respect to the input. A model rkd cannot run fails with exit status 1 and the \
            nodes that stop it (see `rkdctl inspect`).
            """
    )

    @Argument(help: ArgumentHelp("The ONNX model file.", valueName: "model.onnx"))
    var model: String

    @Option(help: ArgumentHelp("The batch of inputs (.npy, float32 or float64).", valueName: "x.npy"))
    var input: String

    @Option(help: ArgumentHelp("Where to write the model's outputs (.npy, float32).", valueName: "logits.npy"))
    var output: String

    @Option(help: ArgumentHelp("One class index per row (.npy); adds the loss.", valueName: "y.npy"))
    var labels: String?

    @Option(
        help: ArgumentHelp(
            "Where to write the loss's gradient with respect to the input (needs --labels).",
            valueName: "g.npy"
        )
    )
    var inputGradient: String?

    @Flag(help: "Write the logits rkd attacks instead of the model's own output (they differ for a Softmax model).")
    var logits = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if inputGradient != nil && labels == nil {
            throw ValidationError("--input-gradient needs --labels: the gradient is that of the loss on the labels")
        }
    }

    struct Output: Encodable {
        struct File: Encodable {
            var path: String
            var shape: [Int64]
        }

        var modelDigest: String
        var predictions: [Int64]
        /// Present with --labels.
        var labels: [Int64]?
        /// The cross-entropy summed over the batch; present with --labels.
        var loss: Float?
        var output: File
        /// What the output file holds: "logits" or "probabilities".
        var outputKind: String
        /// Present with --input-gradient.
        var inputGradient: File?
    }

    func run() async throws {
        let modelFile = try LocalFile(model, what: "model")
        let inputBytes = try LocalFile(input, what: "input").contents()
        let batch = try Self.inputArray(inputBytes, path: input)
        let labelValues = try labels.map { try Self.readLabels($0, rows: batch.shape.first ?? 0) }
        try Self.checkWritable(output)
        if let inputGradient { try Self.checkWritable(inputGradient) }

        let daemon = try await global.daemon()
        let wantGradient = inputGradient != nil
        let wantLogits = logits
        let (digest, answer) = try await daemon.run { client in
            let upload = try await client.upload(modelFile)
            let info = try await client.inspectModel(.with { $0.modelDigest = upload.digest })
            guard info.fullySupported else {
                let nodes = info.unsupportedNodes.map { "  \($0.nodeName) (\($0.opType)): \($0.reason)" }
                throw CLIError(
                    .failure,
                    "rkd cannot run \(modelFile.path):\n" + nodes.joined(separator: "\n")
                )
            }
            let request = Rkd_V1_PredictRequest.with {
                $0.modelDigest = upload.digest
                $0.npy = inputBytes
                if let labelValues { $0.labels = labelValues }
                $0.inputGradient = wantGradient
                $0.logits = wantLogits
            }
            return (upload.digest, try await client.predict(request, options: largeMessageOptions))
        }

        try Self.write(answer.logits, to: output, what: "output")
        if let inputGradient {
            guard answer.hasInputGradient else {
                throw CLIError(.failure, "the daemon returned no input gradient")
            }
            try Self.write(answer.inputGradient, to: inputGradient, what: "input gradient")
        }

        if json {
            try JSONOutput.print(
                Output(
                    modelDigest: digest,
                    predictions: answer.predictions,
                    labels: labelValues,
                    loss: answer.hasLoss ? answer.loss : nil,
                    output: .init(path: output, shape: answer.logits.shape),
                    outputKind: answer.outputKind == .probabilities ? "probabilities" : "logits",
                    inputGradient: inputGradient.map { .init(path: $0, shape: answer.inputGradient.shape) }
                )
            )
            return
        }
        var rows = [["row", "prediction"] + (labelValues == nil ? [] : ["label"])]
        for (row, prediction) in answer.predictions.enumerated() {
            rows.append(["\(row)", "\(prediction)"] + (labelValues.map { ["\($0[row])"] } ?? []))
        }
        for line in columns(rows) { printLine(line) }
        if let labelValues {
            let correct = zip(answer.predictions, labelValues).filter { $0 == $1 }.count
            printLine("correct: \(correct) of \(labelValues.count)")
        }
        if answer.hasLoss {
            printLine("loss: \(answer.loss) (cross-entropy summed over \(answer.predictions.count) rows)")
        }
        if answer.outputKind == .probabilities {
            printLine(
                "wrote \(Self.shapeText(answer.logits.shape)) probabilities (the model's own output: it ends in "
                    + "Softmax; --logits writes the logits rkd attacks) to \(output)"
            )
        } else {
            printLine("wrote \(Self.shapeText(answer.logits.shape)) logits to \(output)")
        }
        if let inputGradient {
            printLine("wrote \(Self.shapeText(answer.inputGradient.shape)) input gradient to \(inputGradient)")
        }
    }

    /// Reads the input batch to refuse a bad file before connecting; the bytes go to the daemon as they are.
    static func inputArray(_ bytes: Data, path: String) throws -> NPYArray {
        let array: NPYArray
        do {
            array = try NPYArray(npy: bytes)
        } catch let error as NPYError {
            throw CLIError(.invalidInput, "input \(path) is \(error.description)")
        }
        switch array.elements {
        case .float32, .float64: break
        case .uint8, .int64:
            throw CLIError(
                .invalidInput,
                "input \(path) holds integers; predict takes float32 or float64 pixels in [0, 1], e.g. "
                    + "numpy.save('\(path)', (x / 255).astype('float32'))"
            )
        }
        guard array.shape.count >= 2, array.shape[0] > 0 else {
            throw CLIError(
                .invalidInput,
                "input \(path) has shape \(array.shape); it needs a batch dimension first, e.g. [8, 1, 28, 28]"
            )
        }
        return array
    }

    /// One class index per row.
    static func readLabels(_ path: String, rows: Int) throws -> [Int64] {
        let bytes = try LocalFile(path, what: "labels").contents()
        do {
            let array = try NPYArray(npy: bytes)
            guard array.shape.count == 1, array.shape[0] == rows else {
                throw CLIError(
                    .invalidInput,
                    "labels \(path) have shape \(array.shape); the input has \(rows) rows, so they need shape [\(rows)]"
                )
            }
            return try array.integers().map { Int64($0) }
        } catch let error as NPYError {
            throw CLIError(.invalidInput, "labels \(path): \(error.description)")
        }
    }

    /// Fails before any work when the directory of an output file does not exist.
    static func checkWritable(_ path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else { throw CLIError(.notFound, "cannot write \(path): the directory \(directory) does not exist") }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw CLIError(.permissionDenied, "cannot write \(path): the directory \(directory) is not writable")
        }
    }

    /// Writes a tensor as float32 .npy, replacing the file atomically.
    static func write(_ tensor: Rkd_V1_Tensor, to path: String, what: String) throws {
        let shape = tensor.shape.map { Int($0) }
        let array: NPYArray
        do {
            array = try NPYArray(shape: shape, elements: .float32(tensor.data))
        } catch {
            throw CLIError(.failure, "the daemon's \(what) is malformed: \(error)")
        }
        do {
            try array.npyData().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CLIError(.failure, "cannot write \(path): \(error.localizedDescription)")
        }
    }

    static func shapeText(_ shape: [Int64]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}
