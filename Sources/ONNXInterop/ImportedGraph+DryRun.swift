import TensorEngine

extension ImportedGraph {
    /// Runs the graph once on zeros of each declared input shape (batch, symbolic and unknown sizes as
    /// 1) and returns the node and reason of a failure, nil when it runs (an input too large to run
    /// is a failure too). This finds what only running
    /// shows: weights that do not fit the input, mismatched inner extents, a reshape to another element
    /// count, an index out of range, a window larger than its input. Graphs with inputs of a non-float
    /// type (masks, token ids) are not run (nil).
    public func dryRun() -> ModelSummary.UnsupportedNode? {
        let summary = model.summary
        var feeds: [String: Tensor] = [:]
        for input in summary.inputs where inputNames.contains(input.name) {
            guard input.elementType == "float" || input.elementType == "undefined" else { return nil }
            let shape = input.shape.enumerated().map { axis, dimension -> Int in
                if axis > 0, case .size(let n) = dimension, n > 0 { return n }
                return 1  // the batch, symbolic and unknown sizes
            }
            guard case .success(let count) = model.limits.admit(shape), count <= model.limits.maximumTensorElements / 4
            else {
                return .init(
                    nodeName: "",
                    domain: "",
                    opType: "",
                    reason: "input '\(input.name)' is declared \(input.shape); one example of it is over rkd's element "
                        + "limit (\(model.limits.maximumTensorElements / 4)), so rkd cannot run the model"
                )
            }
            feeds[input.name] = Tensor(zeros: shape)
        }
        guard feeds.count == inputNames.count else { return nil }
        do {
            _ = try withoutGradients { try run(feeds) }
            return nil
        } catch let error as ONNXError {
            return .init(
                nodeName: error.node ?? "",
                domain: "",
                opType: "",
                reason: "a dry run at batch 1 of the declared input shape fails: \(error.description)"
            )
        } catch {
            return .init(nodeName: "", domain: "", opType: "", reason: "a dry run fails: \(error)")
        }
    }
}
