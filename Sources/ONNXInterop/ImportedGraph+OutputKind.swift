/// What a graph output holds, as far as attacks are concerned: they need logits.
public enum OutputKind: String, Sendable {
    /// Unnormalised class scores (no terminal Softmax/LogSoftmax was found).
    case logits
    /// Softmax probabilities: gradients through them vanish when the model is confident, so attacks
    /// should use ``OutputAnalysis/logitsName`` instead.
    case probabilities
    /// LogSoftmax outputs: logits shifted by a per-example constant, so cross-entropy and margin
    /// losses on them equal those on the logits; attacks may use them as they are.
    case logProbabilities
}

/// The kind of one graph output and, for a terminal softmax, the value holding its logits.
public struct OutputAnalysis: Sendable, Equatable {
    /// The graph output's name.
    public let name: String
    public let kind: OutputKind
    /// For ``OutputKind/probabilities`` and ``OutputKind/logProbabilities``: the value fed to the
    /// Softmax/LogSoftmax (ask `run(_:outputs:)` for it). Shape-only operators between the softmax
    /// and the graph output (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout) are not applied
    /// to it. `nil` for logits.
    public let logitsName: String?
    /// The softmax node's name (or op type and output when unnamed), for messages.
    public let softmaxNode: String?
}

extension ImportedGraph {
    /// Operators that only move or relabel values: a softmax before them is still terminal.
    private static let passThroughOperators: Set<String> = [
        "Identity", "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
    ]

    /// Finds, for each graph output, whether a Softmax or LogSoftmax ends it (possibly followed by
    /// shape-only operators), so callers can report it and attack the logits instead.
    public var outputAnalyses: [OutputAnalysis] {
        var producer: [String: Onnx_NodeProto] = [:]
        for node in nodes {
            for output in node.output where !output.isEmpty { producer[output] = node }
        }
        return outputNames.map { output in
            var name = output
            var steps = 0
            while let node = producer[name], steps < nodes.count {
                steps += 1
                switch node.opType {
                case "Softmax", "LogSoftmax":
                    return OutputAnalysis(
                        name: output,
                        kind: node.opType == "Softmax" ? .probabilities : .logProbabilities,
                        logitsName: node.input.first,
                        softmaxNode: node.name.isEmpty ? "\(node.opType)#\(name)" : node.name
                    )
                case let op where Self.passThroughOperators.contains(op):
                    guard let next = node.input.first, !next.isEmpty else { break }
                    name = next
                    continue
                default:
                    break
                }
                break
            }
            return OutputAnalysis(name: output, kind: .logits, logitsName: nil, softmaxNode: nil)
        }
    }
}
