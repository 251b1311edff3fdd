// Losses and similarities, composed from differentiable ops (so every one has second order).

/// Mean cross-entropy of logits (N, classes) against integer labels, with optional label
/// smoothing ε: the target is (1 − ε)·onehot + ε/classes (PyTorch's definition).
/// - Precondition: one label per row, each in `0..<classes`; 0 ≤ ε ≤ 1.
public func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing: Float = 0) -> Tensor {
    precondition(
        logits.rank == 2 && labels.count == logits.shape[0],
        "crossEntropy: logits \(logits.shape) for \(labels.count) labels"
    )
    precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "crossEntropy: label smoothing \(labelSmoothing)")
    let (n, classes) = (logits.shape[0], logits.shape[1])
    var target = [Float](repeating: labelSmoothing / Float(classes), count: n * classes)
    for (i, y) in labels.enumerated() {
        precondition(y >= 0 && y < classes, "crossEntropy: label \(y) outside 0..<\(classes)")
        target[i * classes + y] += 1 - labelSmoothing
    }
    let t = Tensor(shape: [n, classes], scalars: target)
    return -(t * logSoftmax(logits, axis: 1)).sum() / Float(n)
}

/// Cosine similarity of `a` and `b` along `axis`: Σab / max(‖a‖·‖b‖, ε) (PyTorch's form).
public func cosineSimilarity(_ a: Tensor, _ b: Tensor, axis: Int = 1, epsilon: Float = 1e-8) -> Tensor {
    let dot = (a * b).sum(axes: [axis])
    let norms = sqrt((a * a).sum(axes: [axis]) * (b * b).sum(axes: [axis]))
    return dot / maximum(norms, Tensor(epsilon))
}

/// KL(p ‖ q) summed over `axis` and averaged over the other axes' rows, from log-probabilities:
/// Σ p·(log p − log q) with p = exp(logP). (PyTorch `kl_div(logQ, logP, log_target=True)`, batchmean.)
public func klDivergence(logP: Tensor, logQ: Tensor, axis: Int = 1) -> Tensor {
    precondition(logP.shape == logQ.shape, "klDivergence: \(logP.shape) vs \(logQ.shape)")
    let rows = logP.count / logP.shape[normalizedAxis(axis, rank: logP.rank)]
    return (exp(logP) * (logP - logQ)).sum() / Float(rows)
}
