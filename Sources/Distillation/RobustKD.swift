import NN
import TensorEngine

/// How Robust-KD's Jacobian term is differentiated.
public enum JacobianMode: Hashable, Sendable {
    /// Second-order autodiff: the weight gradient of ‖J_s − J_t‖² through the student's input
    /// gradient (double back-propagation), as the paper does.
    case exact
    /// The weight gradient of u·J_s with u = J_s − J_t held constant, by a central difference of the
    /// projected student map along û = u/‖u‖ with step `step` (two extra first-order passes, no double
    /// backward); the product is scaled by ‖u‖. Approaches `exact` as the step shrinks.
    case finiteDifference(step: Float)
}

/// How the random projections of the Jacobian term span the paired layers.
public enum ProjectionScope: String, Hashable, Sendable, Codable, CaseIterable {
    /// One projected Jacobian per layer, as the paper: J_i = ∂(M_i·z_i)/∂x and Σ_i ‖J_i^s − J_i^t‖²;
    /// an input gradient of each network per layer and projection.
    case perLayer = "per-layer"
    /// One projected Jacobian per network spanning every paired layer: J = ∂(Σ_i M_i·z_i)/∂x with
    /// the same unit vectors M_i, and ‖J^s − J^t‖². The M_i are independent with mean zero, so the
    /// cross terms (J_i^s − J_i^t)ᵀM_i · (J_k^s − J_k^t)ᵀM_k, i ≠ k, vanish in expectation: the term
    /// and its weight gradient keep the per-layer sum's expectation, with more variance, for one
    /// input gradient of each network per projection (and, in the finite-difference mode, one pair
    /// of directional passes instead of one per layer).
    case joint
}

/// How feature maps are compared.
public enum FeatureDistance: String, Hashable, Sendable, Codable {
    /// 1 − cos(z_t, z_s) per example (the paper's).
    case cosine
    /// ‖z_t − z_s‖² per example.
    case l2
}

/// A teacher feature map paired with a student one, through an adapter.
public struct FeaturePair {
    /// The teacher's tap name (``Classifier/featureTapNames``).
    public var teacherTap: String
    /// The student's tap name.
    public var studentTap: String
    /// Pools both maps to a common size and projects the student's channels onto the teacher's.
    public var adapter: FeatureAdapter

    public init(teacherTap: String, studentTap: String, adapter: FeatureAdapter) {
        self.teacherTap = teacherTap
        self.studentTap = studentTap
        self.adapter = adapter
    }
}

/// Robust-KD's settings (METHOD.md): `L = CE + α·Σ_layers d(z_t, z_s) + β·Σ_j Σ_layers ‖J_s − J_t‖²` with
/// `J = ∂(M·z)/∂x` for a fresh random unit vector M per example, projection and layer, shared by teacher
/// and student.
public struct RobustKDSettings: Hashable, Sendable {
    /// The weight of the feature term (the paper's 50).
    public var alpha: Float = 50
    /// The weight of the Jacobian term (the paper's 5e-3).
    public var beta: Float = 5e-3
    /// Random projections per layer and step (the paper's 1).
    public var projections: Int = 1
    public var jacobian: JacobianMode = .exact
    /// One projected Jacobian per layer (the paper's) or one spanning the layers.
    public var projectionScope: ProjectionScope = .perLayer
    public var distance: FeatureDistance = .cosine
    /// Switch the feature term off (Jacobian-only ablation).
    public var useFeatures = true
    /// Switch the Jacobian term off (feature-only ablation).
    public var useJacobian = true

    public init() {}
}

/// One batch's Robust-KD loss: the differentiable total (a surrogate with the true loss's weight
/// gradient in the finite-difference mode) and the terms' values.
public struct RobustKDLoss {
    /// Differentiate this with respect to the student's (and adapters') parameters.
    public var objective: Tensor
    /// Cross-entropy of the student on the clean batch.
    public var crossEntropy: Float
    /// The feature term Σ_layers d(z_t, z_s), batch mean (before α).
    public var feature: Float
    /// The Jacobian term Σ_j Σ_layers ‖J_s − J_t‖², batch mean (before β).
    public var jacobian: Float
    /// CE + α·feature + β·jacobian.
    public var total: Float
}

/// Robust-KD: distils a frozen teacher's feature maps and projected input Jacobians into a student
/// trained on clean data (Zhang and Yi 2021; METHOD.md).
public struct RobustKD {
    public let teacher: any Classifier
    public let student: any Classifier
    public let pairs: [FeaturePair]
    public var settings: RobustKDSettings

    /// - Precondition: every pair names taps its model offers.
    public init(teacher: any Classifier, student: any Classifier, pairs: [FeaturePair], settings: RobustKDSettings) {
        for pair in pairs {
            precondition(
                teacher.featureTapNames.contains(pair.teacherTap),
                "RobustKD: teacher has no tap \(pair.teacherTap)"
            )
            precondition(
                student.featureTapNames.contains(pair.studentTap),
                "RobustKD: student has no tap \(pair.studentTap)"
            )
        }
        precondition(settings.projections >= 1, "RobustKD: projections \(settings.projections)")
        self.teacher = teacher
        self.student = student
        self.pairs = pairs
        self.settings = settings
    }

    /// The parameters training updates: the student's and the adapters'.
    public var trainableParameters: [Parameter] { student.parameters + pairs.flatMap(\.adapter.parameters) }

    /// The loss of a batch x (N, C, H, W) with labels, the student in training mode, the teacher in
    /// evaluation mode (frozen: nothing of the teacher is differentiable in the result). `random` draws
    /// the projections. `checkStop` runs between the passes of the step (after the teacher's and the
    /// student's forward passes and before each projection's Jacobian pair); when it throws, the
    /// error propagates (the student's forward pass may have moved its batch-norm running
    /// statistics: `step` puts them back).
    public func loss(
        _ x: Tensor,
        labels: [Int],
        random: inout RandomGenerator,
        checkStop: () throws -> Void
    ) rethrows -> RobustKDLoss {
        let n = x.shape[0]
        let needJacobian = settings.useJacobian && settings.beta != 0 && !pairs.isEmpty
        let needFeatures = settings.useFeatures && settings.alpha != 0 && !pairs.isEmpty

        // Teacher: maps (constants) and, per projection, its projected input Jacobians (constants).
        let teacherInput = needJacobian ? x.detached.tracked() : x.detached
        let teacherContext = ForwardContext(isTraining: false, requestedTaps: Set(pairs.map(\.teacherTap)))
        teacher.recordTaps(teacherInput, context: teacherContext)
        let teacherMaps = pairs.map { pair in pair.adapter.teacher(recordedTap(teacherContext, pair.teacherTap)) }
        try checkStop()

        // Student, training mode.
        let studentInput = needJacobian ? x.detached.tracked() : x.detached
        let studentContext = ForwardContext(isTraining: true, requestedTaps: Set(pairs.map(\.studentTap)))
        let logits = student.logits(studentInput, context: studentContext)
        let studentMaps = pairs.map { pair in pair.adapter.student(recordedTap(studentContext, pair.studentTap)) }
        let ce = crossEntropy(logits: logits, labels: labels)
        try checkStop()
        var objective = ce
        var featureValue: Float = 0
        var jacobianValue: Float = 0

        if needFeatures {
            var feature = Tensor(zeros: [])
            for (t, s) in zip(teacherMaps, studentMaps) {
                let target = t.detached
                switch settings.distance {
                case .cosine: feature = feature + (1 - cosineSimilarity(s, target, axis: 1)).mean()
                case .l2: feature = feature + square(s - target).sum(axes: [1]).mean()
                }
            }
            featureValue = feature.scalar
            objective = objective + settings.alpha * feature
        }

        if needJacobian {
            var surrogate = Tensor(zeros: [])
            // The layers each projected Jacobian spans: one group per layer, or one of all.
            let layers = Array(pairs.indices)
            let groups = settings.projectionScope == .joint ? [layers] : layers.map { [$0] }
            for _ in 0..<settings.projections {
                for group in groups {
                    try checkStop()
                    let masks = group.map { Self.unitRows(n: n, width: teacherMaps[$0].shape[1], random: &random) }
                    func projection(_ maps: [Tensor]) -> Tensor {
                        zip(group, masks).map { layer, mask in (maps[layer] * mask).sum() }.reduce(Tensor(zeros: []), +)
                    }
                    let jt = gradient(of: projection(teacherMaps), wrt: [teacherInput])[0]
                    switch settings.jacobian {
                    case .exact:
                        let js = gradient(of: projection(studentMaps), wrt: [studentInput], createGraph: true)[0]
                        let term = square(js - jt).sum() / Float(n)
                        jacobianValue += term.scalar
                        surrogate = surrogate + term
                    case .finiteDifference(let h):
                        let js = gradient(of: projection(studentMaps), wrt: [studentInput])[0]
                        let u = js - jt
                        jacobianValue += square(u).sum().scalar / Float(n)
                        let projected = zip(group, masks).map { (pairs[$0], $1) }
                        surrogate =
                            surrogate + directionalSurrogate(x, direction: u, projected: projected, step: h) / Float(n)
                    }
                }
            }
            objective = objective + settings.beta * surrogate
        }
        let total = ce.scalar + settings.alpha * featureValue + settings.beta * jacobianValue
        return RobustKDLoss(
            objective: objective,
            crossEntropy: ce.scalar,
            feature: featureValue,
            jacobian: jacobianValue,
            total: total
        )
    }

    /// `loss` without stops.
    public func loss(_ x: Tensor, labels: [Int], random: inout RandomGenerator) -> RobustKDLoss {
        loss(x, labels: labels, random: &random, checkStop: {})
    }

    /// 2·Σ_b ‖u_b‖·[P_b(x_b + h·û_b) − P_b(x_b − h·û_b)]/(2h) with P_b = Σ_pairs M_b·z_s,b, the
    /// projection of the student's maps of `projected` (each pair with its mask): its weight gradient
    /// is that of Σ_b ‖J_s,b − J_t,b‖² up to O(h²) (u = J_s − J_t constant). The two passes run in
    /// training mode (the same batch statistics regime as the main pass), stop at the deepest of the
    /// pairs' taps, and leave the running statistics as they were.
    func directionalSurrogate(
        _ x: Tensor,
        direction u: Tensor,
        projected: [(pair: FeaturePair, mask: Tensor)],
        step h: Float
    )
        -> Tensor
    {
        let n = x.shape[0]
        let size = x.count / n
        let values = u.scalars
        var unit = [Float](repeating: 0, count: values.count)
        var norms = [Float](repeating: 0, count: n)
        for b in 0..<n {
            var sum: Float = 0
            for i in b * size..<(b + 1) * size { sum += values[i] * values[i] }
            let norm = sum.squareRoot()
            norms[b] = norm
            if norm > 0 { for i in b * size..<(b + 1) * size { unit[i] = values[i] / norm } }
        }
        let direction = Tensor(shape: x.shape, scalars: unit)
        let saved = student.buffers.map(\.value)
        defer { for (buffer, value) in zip(student.buffers, saved) { buffer.value = value } }
        func projection(_ input: Tensor) -> Tensor {
            let context = ForwardContext(isTraining: true, requestedTaps: Set(projected.map(\.pair.studentTap)))
            student.recordTaps(input, context: context)
            return projected.map { pair, mask in
                (pair.adapter.student(recordedTap(context, pair.studentTap)) * mask).sum(axes: [1])
            }
            .reduce(Tensor(zeros: [n]), +)
        }
        let plus = projection(x.detached + h * direction)
        let minus = projection(x.detached - h * direction)
        let weights = Tensor(shape: [n], scalars: norms)
        return ((plus - minus) * weights).sum() * (1 / h)
    }

    /// (n, width) rows drawn uniformly on the unit sphere.
    static func unitRows(n: Int, width: Int, random: inout RandomGenerator) -> Tensor {
        var values = [Float](repeating: 0, count: n * width)
        for b in 0..<n {
            var sum: Float = 0
            for i in 0..<width {
                let v = random.nextNormal()
                values[b * width + i] = v
                sum += v * v
            }
            let scale = 1 / max(sum.squareRoot(), 1e-12)
            for i in 0..<width { values[b * width + i] *= scale }
        }
        return Tensor(shape: [n, width], scalars: values)
    }

    /// One training step: the loss, its gradient with respect to the student's and adapters'
    /// parameters, one optimizer step. Returns the loss's terms.
    /// `checkStop` as in `loss`; a step it stops takes no optimizer step.
    @discardableResult
    public func step(
        optimizer: inout some Optimizer,
        inputs: Tensor,
        labels: [Int],
        random: inout RandomGenerator,
        checkStop: () throws -> Void
    ) rethrows -> RobustKDLoss {
        let parameters = trainableParameters
        // A stop inside the step must leave the student as it was: its forward pass in training mode
        // has already moved the batch-norm running statistics, so they are put back.
        let saved = student.buffers.map(\.value)
        let result: RobustKDLoss
        do {
            result = try loss(inputs, labels: labels, random: &random, checkStop: checkStop)
            try checkStop()
        } catch {
            for (buffer, value) in zip(student.buffers, saved) { buffer.value = value }
            throw error
        }
        optimizer.step(parameters, gradients: gradient(of: result.objective, wrt: parameters.map(\.value)))
        return result
    }

    /// `step` without stops.
    @discardableResult
    public func step(
        optimizer: inout some Optimizer,
        inputs: Tensor,
        labels: [Int],
        random: inout RandomGenerator
    ) -> RobustKDLoss {
        step(optimizer: &optimizer, inputs: inputs, labels: labels, random: &random, checkStop: {})
    }

}
