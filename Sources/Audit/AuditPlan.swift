import Attacks

/// What an audit runs: each attack at each budget (a cell), in order, over a set of examples.
/// Cheap attacks come first so that numbers arrive early.
public struct AuditPlan: Sendable {
    /// The threat model's norm (every cell's).
    public var norm: PerturbationNorm
    /// The cells in the order they run.
    public var cells: [any Attack]
    /// Examples per batch.
    public var batchSize: Int
    /// The seed of every random choice.
    public var seed: UInt64
    /// The accuracy-vs-steps curve's cells (PGD at each iteration count and budget), run after
    /// `cells` on the first `curveExamples` examples; empty for no curve.
    public var curve: [any Attack]
    /// Examples of the curve.
    public var curveExamples: Int

    /// Creates a plan. - Precondition: batchSize ≥ 1.
    public init(
        norm: PerturbationNorm,
        cells: [any Attack],
        batchSize: Int,
        seed: UInt64,
        curve: [any Attack] = [],
        curveExamples: Int = 0
    ) {
        precondition(batchSize >= 1, "AuditPlan: batch size \(batchSize)")
        self.norm = norm
        self.cells = cells
        self.batchSize = batchSize
        self.seed = seed
        self.curve = curve
        self.curveExamples = curveExamples
    }

    /// The attacks that spend minutes on a batch (AutoAttack, and the members and attacks with
    /// hundreds of iterations per target or thousands of queries): they run on at most
    /// ``longAttackBatchSize`` examples at a time, so that progress and checkpoints come every few
    /// minutes and an interrupted audit loses little. Results do not depend on the batch size.
    public static let longAttacks: Set<String> = ["autoattack", "apgd-t", "fab-t", "square", "cw-l2"]
    /// The batch size of ``longAttacks``' cells, at most.
    public static let longAttackBatchSize = 32

    /// Examples per attack call in cell `c` of ``allCells``: `batchSize`, or at most
    /// ``longAttackBatchSize`` for ``longAttacks``.
    public func batchSize(inCell c: Int) -> Int {
        Self.longAttacks.contains(allCells[c].name) ? min(batchSize, Self.longAttackBatchSize) : batchSize
    }

    /// The cells and then the curve's cells: what the runner runs, in order.
    public var allCells: [any Attack] { cells + curve }

    /// How many examples cell `c` of ``allCells`` runs on, of `n`.
    public func examples(inCell c: Int, of n: Int) -> Int { c < cells.count ? n : min(curveExamples, n) }

    /// The paper's accuracy-vs-steps curve (figures 4 and 5): PGD at each positive count in `steps`
    /// at each budget, default step size 2.5·ε/steps, one run.
    public static func stepsCurve(norm: PerturbationNorm, epsilons: [Float], steps: [Int]) -> [any Attack] {
        epsilons.flatMap { eps in steps.filter { $0 > 0 }.map { PGD(norm, epsilon: eps, steps: $0) as any Attack } }
    }

    /// The rank of an attack by cost, for ordering cells (cheapest first).
    public static func costRank(_ name: String) -> Int {
        [
            "fgsm": 0, "mi-fgsm": 1, "pgd": 2, "apgd-ce": 3, "apgd-dlr": 3, "cw-l2": 4, "apgd-t": 5, "fab-t": 6,
            "square": 7,
            "autoattack": 8,
        ][name] ?? 9
    }
}

/// The examples an audit attacks: flat inputs in [0, 1], labels and their indices in the data set.
public struct AuditExamples: Sendable {
    /// (N·C·H·W) values.
    public var inputs: [Float]
    /// One label per example.
    public var labels: [Int]
    /// Each example's index in its data set (recorded in the report).
    public var indices: [Int]
    /// The shape of one example, (C, H, W).
    public var exampleShape: [Int]
    /// Class names, if known (for per-class tables).
    public var classNames: [String]

    /// Creates the examples. - Precondition: the counts agree.
    public init(inputs: [Float], labels: [Int], indices: [Int], exampleShape: [Int], classNames: [String] = []) {
        precondition(
            labels.count == indices.count && inputs.count == labels.count * exampleShape.reduce(1, *),
            "AuditExamples: \(inputs.count) values, \(labels.count) labels, \(indices.count) indices, shape \(exampleShape)"
        )
        self.inputs = inputs
        self.labels = labels
        self.indices = indices
        self.exampleShape = exampleShape
        self.classNames = classNames
    }

    /// The number of examples.
    public var count: Int { labels.count }
}
