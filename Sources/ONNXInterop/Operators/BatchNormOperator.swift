import TensorEngine

/// BatchNormalization. In inference it normalises with the stored statistics. It uses the batch's
/// statistics when the node says `training_mode=1` (opset 14+, whose extra outputs are the updated
/// running statistics by ONNX's formula) or when the whole graph runs in training mode
/// (`ImportedGraph.isTraining`), which also folds the batch statistics into the running-statistic
/// buffers once the run succeeds.
enum BatchNormOperator {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        ("BatchNormalization", batchNormalization)
    ]

    static func batchNormalization(_ c: NodeContext) throws -> [Value] {
        try batchNormalization(c, epilogue: nil).output
    }

    /// The node's outputs, with a fused chain's epilogue applied in the normalisation pass (`fused`)
    /// when the node normalises with batch statistics and the residual has the input's shape;
    /// otherwise as without it (`fused` false: the caller runs the rest of its chain node by node).
    static func batchNormalization(
        _ c: NodeContext,
        epilogue: NetworkOperators.Epilogue?
    ) throws -> (output: [Value], fused: Bool) {
        try c.onlyAttributes(["epsilon", "momentum", "training_mode", "spatial", "is_test", "consumed_inputs"])
        if c.int("spatial", default: 1) != 1 {
            throw c.error(.unsupported, "spatial=0 (per-element statistics, opset < 9) is not supported; re-export")
        }
        let x = try c.tensor(0)
        guard x.rank >= 2 else {
            throw c.error(.invalidGraph, "input of shape \(x.shape): need (N, C, ...)")
        }
        let channels = x.shape[1]
        let params = try (1...4).map { try c.tensor($0) }
        guard params.allSatisfy({ $0.shape == [channels] }) else {
            throw c.error(.invalidGraph, "scale/bias/mean/var \(params.map(\.shape)) for input \(x.shape)")
        }
        let epsilon = c.float("epsilon", default: 1e-5)
        let momentum = c.float("momentum", default: 0.9)
        let nodeTraining = c.opset >= 14 && c.int("training_mode", default: 0) != 0
        let wantsStatistics = c.node.output.dropFirst().contains { !$0.isEmpty }
        if wantsStatistics && !nodeTraining {
            throw c.error(
                .unsupported,
                "extra outputs (running mean/var, saved statistics) without training_mode=1 come from "
                    + "opsets before 14 and are not supported; re-export the model for inference"
            )
        }
        guard nodeTraining || c.run.isTraining else {
            let y = batchNorm(
                x,
                mean: params[2],
                variance: params[3],
                scale: params[0],
                offset: params[1],
                epsilon: epsilon
            )
            return ([.float(y)], false)
        }
        guard x.count > channels else {
            throw c.error(.invalidInput, "batch statistics need more than one value per channel, got \(x.shape)")
        }
        let fits = epilogue.map { $0.residual.map { $0.shape == x.shape } ?? true } ?? false
        let (y, mean, variance) = batchNormTraining(
            x,
            scale: params[0],
            offset: params[1],
            epsilon: epsilon,
            residual: fits ? epilogue?.residual : nil,
            relu: fits && epilogue?.relu == true
        )
        if c.run.isTraining {
            let names = c.node.input
            c.run.record(
                RunState.StatisticsUpdate(
                    meanName: names[3],
                    varianceName: names[4],
                    mean: mean,
                    variance: variance,
                    count: x.count / channels,
                    momentum: momentum
                )
            )
        }
        guard nodeTraining else { return ([.float(y)], fits) }
        // ONNX's training-mode outputs: running = old · momentum + batch · (1 − momentum), with the
        // batch's biased variance.
        let oldMean = params[2].scalars
        let oldVariance = params[3].scalars
        let runningMean = (0..<channels).map { oldMean[$0] * momentum + mean[$0] * (1 - momentum) }
        let runningVariance = (0..<channels).map { oldVariance[$0] * momentum + variance[$0] * (1 - momentum) }
        let outputs: [Value] = [
            .float(y),
            .float(Tensor(shape: [channels], scalars: runningMean)),
            .float(Tensor(shape: [channels], scalars: runningVariance)),
        ]
        return (outputs, fits)
    }
}
