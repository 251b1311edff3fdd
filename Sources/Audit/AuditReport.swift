import Attacks

/// The audit's result in the form `report.json` stores (schema `rkd.audit/1`): the threat model, each
/// attack's exact configuration, results, reliability flags, seeds and sample indices.
public struct AuditReport: Codable, Sendable {
    /// The schema's name and version.
    public var schema = "rkd.audit/1"
    /// The rkd version that ran the audit.
    public var rkdVersion: String
    /// The model: its SHA-256 digest and, if known, its file name.
    public var model: ModelInfo
    /// The data: set, split, count and the indices of the examples.
    public var data: DataInfo
    /// The norm.
    public var norm: String
    /// The budgets.
    public var epsilons: [Float]
    /// The seed of every random choice.
    public var seed: UInt64
    /// Examples per batch (results do not depend on it).
    public var batchSize: Int
    /// Clean accuracy over the examples.
    public var cleanAccuracy: Double
    /// Its 95 % Wilson interval.
    public var cleanCI95: [Double]
    /// One entry per attack and budget, in the order they ran.
    public var attacks: [AttackSummary]
    /// Per budget, the per-example worst case over all attacks.
    public var worstCase: [WorstCase]
    /// What the audit found suspicious about itself.
    public var flags: [ReliabilityFlag]
    /// The pass mark verdict, when a pass mark was given (over the attacks, not the steps curve).
    public var verdict: Verdict?
    /// A few adversarial examples: from the last cell (the strongest attack at the largest budget, as
    /// plans order them) that fooled any, with the attack and budget that made them.
    public var gallery: [GalleryEntry]

    /// Robust accuracy against PGD by iteration count and budget (steps 0: clean), on the first
    /// `stepsCurveExamples` examples; empty when no curve was asked for.
    public var stepsCurve: [CurvePoint]
    /// Examples of the steps curve.
    public var stepsCurveExamples: Int?

    /// One point of the accuracy-vs-steps curve.
    public struct CurvePoint: Codable, Sendable {
        public var epsilon: Float
        public var steps: Int
        public var robustAccuracy: Double
        public var ci95: [Double]
    }

    /// An adversarial example for the picture grid.
    public struct GalleryEntry: Codable, Sendable {
        public var attack: String
        public var epsilon: Float
        public var image: GalleryImage
    }

    /// The model.
    public struct ModelInfo: Codable, Sendable {
        public var digest: String
        public var name: String
        public var outputKind: String
        public init(digest: String, name: String, outputKind: String) {
            self.digest = digest
            self.name = name
            self.outputKind = outputKind
        }
    }

    /// The examples.
    public struct DataInfo: Codable, Sendable {
        public var name: String
        public var split: String
        public var count: Int
        public var indices: [Int]
        public var classNames: [String]
        public init(name: String, split: String, count: Int, indices: [Int], classNames: [String]) {
            self.name = name
            self.split = split
            self.count = count
            self.indices = indices
            self.classNames = classNames
        }
    }

    /// One attack at one budget.
    public struct AttackSummary: Codable, Sendable {
        public var name: String
        public var norm: String
        public var epsilon: Float
        /// Iterations, when the attack has them.
        public var steps: Int?
        /// Every setting of the attack.
        public var settings: [String: String]
        public var robustAccuracy: Double
        public var ci95: [Double]
        /// Share of the correctly classified examples the attack fooled.
        public var successRate: Double
        /// Robust accuracy per class (nil for a class without examples).
        public var perClass: [Double?]
        /// Perturbation sizes of the examples the attack fooled (not clean errors), in the norm.
        public var perturbation: Statistics
        /// Model evaluations per attacked example.
        public var queries: Statistics
        public var seconds: Double
        public var imagesPerSecond: Double
        /// Which attack fooled how many examples (ensembles name their members; "clean" for clean errors).
        public var fooledBy: [String: Int]
        /// Per example, in order: "1" robust, "0" fooled.
        public var robust: String
    }

    /// Per budget, the examples no attack fooled.
    public struct WorstCase: Codable, Sendable {
        public var epsilon: Float
        public var robustAccuracy: Double
        public var ci95: [Double]
    }

    /// Mean, median and maximum of a set of values (0 when empty).
    public struct Statistics: Codable, Sendable {
        public var count: Int
        public var mean: Double
        public var median: Double
        public var max: Double

        init(_ values: [Double]) {
            let sorted = values.sorted()
            count = values.count
            mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
            median = sorted.isEmpty ? 0 : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
            max = sorted.last ?? 0
        }
    }

    /// PASS or FAIL against the pass mark.
    public struct Verdict: Codable, Sendable {
        public var failUnder: Double
        /// The lowest robust accuracy over every attack and budget.
        public var lowestRobustAccuracy: Double
        /// "PASS" or "FAIL".
        public var result: String
    }
}

/// A reliability check that fired: an identifier, a severity, what it means and what to do.
public struct ReliabilityFlag: Codable, Sendable, Hashable {
    /// A stable identifier, e.g. `square-beats-white-box`.
    public var id: String
    /// "warning" (the numbers may be wrong) or "info".
    public var severity: String
    /// What was seen, with the numbers.
    public var finding: String
    /// What it means, in plain words.
    public var meaning: String
    /// What to do about it.
    public var action: String
}
