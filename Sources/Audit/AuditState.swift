/// What one attack did to one example, as the audit stores and reports it.
public struct ExampleOutcome: Codable, Hashable, Sendable {
    /// Whether the example is misclassified at the attack's point (clean errors included).
    public var fooled: Bool
    /// The model's prediction there.
    public var prediction: Int
    /// Model evaluations spent.
    public var queries: Int
    /// ‖δ‖∞ of the kept point.
    public var linf: Float
    /// ‖δ‖₂ of the kept point.
    public var l2: Float
    /// "clean", the attack (or ensemble member) that fooled it, or "".
    public var by: String

    /// Creates an outcome.
    public init(fooled: Bool, prediction: Int, queries: Int, linf: Float, l2: Float, by: String) {
        self.fooled = fooled
        self.prediction = prediction
        self.queries = queries
        self.linf = linf
        self.l2 = l2
        self.by = by
    }
}

/// An audit's progress, saved after every batch: everything needed to resume exactly where it stopped.
public struct AuditState: Codable, Sendable, Equatable {
    /// The version of this layout.
    public var version = 1
    /// The clean prediction of each example, once computed.
    public var cleanPredictions: [Int]?
    /// Whether repeated clean passes gave bit-identical logits (nil until checked).
    public var deterministic: Bool?
    /// Whether a batch's logits differed from the same examples' logits run alone (batch statistics
    /// at evaluation: batch norm in training mode); nil until checked.
    public var batchDependent: Bool?
    /// How many clean examples had a zero or non-finite input gradient of the cross-entropy.
    public var degenerateGradients: Int?
    /// Per cell, the outcomes of the examples done so far, in example order.
    public var outcomes: [[ExampleOutcome]]
    /// Per cell, the seconds spent so far (over all attempts).
    public var seconds: [Double]
    /// Per cell, the first few examples the attack fooled (not clean errors), with their images.
    public var gallery: [[GalleryImage]]

    /// A fresh state for a plan of `cells` cells.
    public init(cells: Int) {
        outcomes = Array(repeating: [], count: cells)
        seconds = Array(repeating: 0, count: cells)
        gallery = Array(repeating: [], count: cells)
    }

    /// Whether every cell of `plan` has all its examples.
    public func isComplete(plan: AuditPlan, examples: Int) -> Bool {
        cleanPredictions != nil && outcomes.count == plan.allCells.count
            && outcomes.indices.allSatisfy { outcomes[$0].count == plan.examples(inCell: $0, of: examples) }
    }
}

/// One adversarial example kept for the report's picture grid.
public struct GalleryImage: Codable, Hashable, Sendable {
    /// The example's position in the audit and its index in the data set.
    public var position: Int
    public var index: Int
    public var label: Int
    public var prediction: Int
    /// The shape of one image, (C, H, W).
    public var shape: [Int]
    /// The clean and the adversarial pixels, (C·H·W) each.
    public var clean: [Float]
    public var adversarial: [Float]

    /// Creates a gallery entry.
    public init(
        position: Int,
        index: Int,
        label: Int,
        prediction: Int,
        shape: [Int],
        clean: [Float],
        adversarial: [Float]
    ) {
        self.position = position
        self.index = index
        self.label = label
        self.prediction = prediction
        self.shape = shape
        self.clean = clean
        self.adversarial = adversarial
    }
}
