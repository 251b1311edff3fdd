import TensorEngine

// Conveniences for inference, feature extraction and evaluation on any classifier.

extension Classifier {
    /// Images in [0, 1].
    public var inputBounds: ClosedRange<Float> { 0...1 }

    /// Inference logits: evaluation mode, nothing recorded on the tape.
    public func logits(_ x: Tensor) -> Tensor {
        withoutGradients { logits(x, context: ForwardContext(isTraining: false)) }
    }

    /// The predicted class of each row of x, by inference logits.
    public func predictions(_ x: Tensor) -> [Int] {
        logits(x).argmax(axis: 1)
    }

    /// The logits and the requested feature maps of one pass.
    /// - Precondition: every requested name is in `featureTapNames`.
    public func logitsAndFeatures(
        _ x: Tensor,
        taps: [String],
        isTraining: Bool = false
    ) -> (logits: Tensor, features: [String: Tensor]) {
        let unknown = taps.filter { !featureTapNames.contains($0) }
        precondition(
            unknown.isEmpty,
            "\(type(of: self)): unknown feature taps \(unknown); available: \(featureTapNames)"
        )
        let context = ForwardContext(isTraining: isTraining, requestedTaps: Set(taps))
        let y = logits(x, context: context)
        return (y, context.taps)
    }

    /// The fraction of rows of x (N,C,H,W) whose inference prediction equals the label, in batches.
    /// - Precondition: one label per row; `batchSize > 0`.
    public func accuracy(_ x: Tensor, labels: [Int], batchSize: Int = 256) -> Double {
        precondition(
            x.rank >= 1 && x.shape[0] == labels.count && batchSize > 0,
            "accuracy: inputs \(x.shape) for \(labels.count) labels, batch \(batchSize)"
        )
        guard !labels.isEmpty else { return 0 }
        var correct = 0
        var start = 0
        while start < labels.count {
            let end = min(start + batchSize, labels.count)
            var starts = [Int](repeating: 0, count: x.rank)
            var ends = x.shape
            starts[0] = start
            ends[0] = end
            let predicted = predictions(x.sliced(starts: starts, ends: ends))
            correct += zip(predicted, labels[start..<end]).filter { $0 == $1 }.count
            start = end
        }
        return Double(correct) / Double(labels.count)
    }
}
