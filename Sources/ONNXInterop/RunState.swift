import TensorEngine

/// Per-run state shared by the nodes of one `ImportedGraph.run`: whether the graph trains, and the
/// batch-norm statistics gathered on the way, applied only once the whole run has succeeded.
final class RunState: @unchecked Sendable {
    /// One batch-norm node's batch statistics in training mode.
    struct StatisticsUpdate {
        let meanName: String
        let varianceName: String
        /// The batch mean and biased variance per channel.
        let mean: [Float]
        let variance: [Float]
        /// Elements per channel in the batch (for the unbiased correction).
        let count: Int
        /// ONNX's momentum: the weight of the old running value.
        let momentum: Float
    }

    let isTraining: Bool
    private(set) var updates: [StatisticsUpdate] = []

    init(isTraining: Bool) { self.isTraining = isTraining }

    func record(_ update: StatisticsUpdate) { updates.append(update) }
}
