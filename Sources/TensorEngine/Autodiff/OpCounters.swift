import Synchronization

/// Counts of the expensive ops run in this process, for tests and benchmarks that check how much work a
/// gradient does (an input gradient must not run a filter gradient).
public enum OpCounters {
    static let conv2dCalls = Atomic<Int>(0)
    static let conv2dBackwardInputCalls = Atomic<Int>(0)
    static let conv2dBackwardFilterCalls = Atomic<Int>(0)
    static let matmulCalls = Atomic<Int>(0)

    static func increment(_ counter: borrowing Atomic<Int>) {
        counter.add(1, ordering: .relaxed)
    }

    /// The current counts of conv2d, its two backward ops, and matmul.
    public static var snapshot: (conv2d: Int, backwardInput: Int, backwardFilter: Int, matmul: Int) {
        (
            conv2dCalls.load(ordering: .relaxed), conv2dBackwardInputCalls.load(ordering: .relaxed),
            conv2dBackwardFilterCalls.load(ordering: .relaxed), matmulCalls.load(ordering: .relaxed)
        )
    }
}
