import ArgumentParser
import DaemonAPI
import SwiftProtobuf

/// `rkdctl inspect MODEL.onnx`: uploads the model and prints what InspectModel says about it.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Upload an ONNX model and describe it: inputs, outputs, operators, what rkd can run.",
        discussion: """
            The model is uploaded to the daemon (stored once under its SHA-256 digest), then described: \
            inputs and outputs with their shapes, the operators with their counts and whether rkd \
            implements them, the parameter count, the ONNX checker's verdict, the nodes rkd cannot run \
            and why, and whether the output looks like logits or probabilities. rkd also runs the model \
            once at batch 1 of its declared input shape, so that shapes that do not fit are found here. \
            The exit status is the verdict: 0 when rkd can run the model end to end; 1 when it cannot, \
            after the description and the reasons (with --json, the JSON carries both).
            """
    )

    @Argument(help: ArgumentHelp("The ONNX model file.", valueName: "model.onnx"))
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let file = try LocalFile(model, what: "model")
        let daemon = try await global.daemon()
        let (upload, info) = try await daemon.run { client in
            let upload = try await client.upload(file)
            let info = try await client.inspectModel(.with { $0.modelDigest = upload.digest })
            return (upload, info)
        }
        if json {
            try JSONOutput.print(ModelJSON(file: model, upload: upload, info: info))
        } else {
            for line in Self.describe(file: model, upload: upload, info: info) { printLine(line) }
        }
        if !info.fullySupported {
            throw CLIError(.failure, "rkd cannot run \(model) (the reasons are above)")
        }
    }

    /// The text report.
    static func describe(file: String, upload: Rkd_V1_UploadModelResponse, info: Rkd_V1_ModelInfo) -> [String] {
        var lines: [String] = []
        let stored = upload.alreadyStored ? "already stored" : "stored"
        lines.append("\(file): \(grouped(info.sizeBytes)) bytes, \(stored) as sha256 \(info.digest)")
        let opsets = info.opsetImports.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }
        var format = "ONNX IR \(info.irVersion), opset \(opsets.joined(separator: ", "))"
        if !info.producerName.isEmpty {
            format +=
                "; made by \(info.producerName)" + (info.producerVersion.isEmpty ? "" : " \(info.producerVersion)")
        }
        lines.append(format)
        lines.append(info.checker.valid ? "ONNX checker: valid" : "ONNX checker: INVALID: \(info.checker.message)")
        lines.append("")
        lines.append("inputs:")
        lines += columns(info.inputs.map { [$0.name, $0.elementType, shapeText($0.shape)] }, indent: "  ")
        lines.append("outputs:")
        lines += columns(info.outputs.map { [$0.name, $0.elementType, shapeText($0.shape)] }, indent: "  ")
        lines.append("operators:")
        lines += columns(
            info.operators.map {
                [
                    $0.domain.isEmpty || $0.domain == "ai.onnx" ? $0.opType : "\($0.domain).\($0.opType)",
                    "×\($0.count)", $0.supported ? "supported" : "NOT SUPPORTED",
                ]
            },
            indent: "  "
        )
        lines.append("")
        lines.append("parameters: \(grouped(info.parameterCount))")
        lines.append("output: \(outputKindText(info.outputKind))")
        if info.fullySupported {
            lines.append("rkd can run every node.")
        } else {
            let count = info.unsupportedNodes.count
            lines.append("rkd cannot run \(count) node\(count == 1 ? "" : "s"):")
            for node in info.unsupportedNodes {
                lines.append("  \(node.nodeName) (\(node.opType)): \(node.reason)")
            }
        }
        return lines
    }

    static func outputKindText(_ kind: Rkd_V1_OutputKind) -> String {
        switch kind {
        case .logits: "logits"
        case .probabilities: "probabilities (the graph ends in Softmax)"
        default: "unknown (neither logits nor probabilities could be told)"
        }
    }

    /// "[N, 3, 28, 28]", "?" for a dimension the model leaves unknown; "(no shape)" when none is declared.
    static func shapeText(_ shape: [Rkd_V1_Dimension]) -> String {
        guard !shape.isEmpty else { return "(no shape)" }
        let dimensions = shape.map { dimension -> String in
            switch dimension.value {
            case .size(let size): "\(size)"
            case .symbol(let symbol): symbol
            case nil: "?"
            }
        }
        return "[" + dimensions.joined(separator: ", ") + "]"
    }
}

/// 1234567 → "1,234,567".
func grouped(_ value: some BinaryInteger) -> String {
    let digits = Array(String(value))
    var result = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0, digit != "-" { result.append(",") }
        result.append(digit)
    }
    return result
}
