import TensorEngine

/// BatchNormalization: inference with the stored statistics; training mode is a graph-level switch
/// (see `ImportedGraph.training`).
enum BatchNormOperator {
    static let all: [(String, OperatorRegistry.Implementation)] = [
        ("BatchNormalization", batchNormalization)
    ]

    static func batchNormalization(_ c: NodeContext) throws -> [Value] {
        try c.onlyAttributes(["epsilon", "momentum", "training_mode", "spatial", "is_test", "consumed_inputs"])
        if c.int("training_mode", default: 0) != 0
            || c.node.output.count > 1 && c.node.output.dropFirst().contains(where: { !$0.isEmpty })
        {
            throw c.error(
                .unsupported,
                "training-mode outputs (running mean/var) are not supported in an imported graph"
            )
        }
        let x = try c.tensor(0)
        let channels = x.rank >= 2 ? x.shape[1] : -1
        let params = try (1...4).map { try c.tensor($0) }
        guard params.allSatisfy({ $0.shape == [channels] }) else {
            throw c.error(.invalidGraph, "scale/bias/mean/var \(params.map(\.shape)) for input \(x.shape)")
        }
        return [
            .float(
                batchNorm(
                    x,
                    mean: params[2],
                    variance: params[3],
                    scale: params[0],
                    offset: params[1],
                    epsilon: c.float("epsilon", default: 1e-5)
                )
            )
        ]
    }
}
