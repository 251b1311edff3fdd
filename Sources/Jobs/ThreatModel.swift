/// The norm that bounds a perturbation of an input in [0, 1].
public enum Norm: String, Codable, Sendable, CaseIterable {
    /// No pixel moves by more than ε.
    case linf
    /// The perturbation's Euclidean length is at most ε.
    case l2
}

/// An attack of the audit suite (see METHOD.md).
public enum AttackKind: String, Codable, Sendable, CaseIterable {
    /// Fast Gradient Sign Method; L∞ only.
    case fgsm
    /// Projected Gradient Descent; L∞ or L2.
    case pgd
    /// Momentum Iterative FGSM; L∞ only.
    case miFGSM = "mi-fgsm"
    /// Carlini & Wagner L2; L2 only.
    case cwL2 = "cw-l2"
    /// Auto-PGD on the cross-entropy.
    case apgdCE = "apgd-ce"
    /// Auto-PGD on the targeted DLR loss.
    case apgdT = "apgd-t"
    /// Targeted Fast Adaptive Boundary attack.
    case fabT = "fab-t"
    /// The black-box Square attack.
    case square
    /// The AutoAttack standard ensemble (APGD-CE, APGD-T, FAB-T, Square).
    case autoAttack = "autoattack"

    /// Whether the attack is defined for a norm.
    public func supports(_ norm: Norm) -> Bool {
        switch self {
        case .fgsm, .miFGSM: norm == .linf
        case .cwL2: norm == .l2
        case .pgd, .apgdCE, .apgdT, .fabT, .square, .autoAttack: true
        }
    }
}

/// One attack of an audit with its settings; `nil` settings take the attack's own defaults.
public struct AttackSettings: Codable, Hashable, Sendable {
    /// The attack.
    public var kind: AttackKind
    /// Iterations.
    public var steps: Int?
    /// Step size in pixel units.
    public var stepSize: Float?
    /// Random restarts (0: one run).
    public var restarts: Int

    /// Creates attack settings.
    public init(_ kind: AttackKind, steps: Int? = nil, stepSize: Float? = nil, restarts: Int = 0) {
        self.kind = kind
        self.steps = steps
        self.stepSize = stepSize
        self.restarts = restarts
    }
}

/// The threat model and inner attack of PGD adversarial training.
public struct AdversarialTraining: Codable, Hashable, Sendable {
    /// The norm.
    public var norm: Norm
    /// The budget ε in pixel units.
    public var epsilon: Float
    /// PGD iterations per step.
    public var steps: Int
    /// PGD step size; `nil`: 2.5·ε/steps.
    public var stepSize: Float?
    /// TRADES' β when the recipe is TRADES (Zhang et al. 2019); `nil`: PGD-AT.
    public var tradesBeta: Float?

    /// Creates the settings.
    public init(norm: Norm, epsilon: Float, steps: Int, stepSize: Float? = nil, tradesBeta: Float? = nil) {
        self.norm = norm
        self.epsilon = epsilon
        self.steps = steps
        self.stepSize = stepSize
        self.tradesBeta = tradesBeta
    }

    /// "PGD-AT" or "TRADES β=…", for logs and manifests.
    public var recipeName: String { tradesBeta.map { "TRADES β=\($0)" } ?? "PGD-AT" }
}
