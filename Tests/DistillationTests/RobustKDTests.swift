import Foundation
import NN
import TensorEngine
import TensorEngineTestSupport
import Testing

@testable import Distillation

/// conv 3×3 (1→2, pad 1) → tanh → tap "features" (N,2,4,4) → 2×2 average pool → tap "pooled"
/// (N,2,2,2) → linear (8 → 3), on (N,1,4,4) inputs: smooth everywhere, so finite differences of its
/// second-order terms are clean.
final class TinyConvNet: Classifier {
    let conv: Conv2D
    let fc: Linear
    let inputShape = [1, 4, 4]
    let classCount = 3
    var featureTapNames: [String] { ["features", "pooled"] }
    var parameters: [Parameter] { conv.parameters + fc.parameters }
    var buffers: [Buffer] { [] }

    init(seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        conv = Conv2D(inChannels: 1, outChannels: 2, kernelSize: 3, padding: 1, rng: &rng)
        fc = Linear(inFeatures: 8, outFeatures: 3, rng: &rng)
        conv.qualifyNames(under: "conv")
        fc.qualifyNames(under: "fc")
    }

    func logits(_ x: Tensor, context: ForwardContext) -> Tensor {
        let h = tanh(conv(x, context: context))
        context.record("features", h)
        let pooled = avgPool2d(h, options: Pool2DOptions(kernel: 2))
        context.record("pooled", pooled)
        return fc(pooled.flattened(axis: 1), context: context)
    }
}

@Suite("Robust-KD loss")
struct RobustKDTests {
    static func distiller(
        teacherSeed: UInt64 = 1,
        studentSeed: UInt64 = 2,
        twoLayers: Bool = false,
        _ change: (inout RobustKDSettings) -> Void = { _ in }
    ) -> RobustKD {
        var settings = RobustKDSettings()
        change(&settings)
        let adapter = FeatureAdapter(name: "adapter0", student: [2, 4, 4], teacher: [2, 4, 4], seed: 3)
        var pairs = [FeaturePair(teacherTap: "features", studentTap: "features", adapter: adapter)]
        if twoLayers {
            let pooled = FeatureAdapter(name: "adapter1", student: [2, 2, 2], teacher: [2, 2, 2], seed: 4)
            pairs.append(FeaturePair(teacherTap: "pooled", studentTap: "pooled", adapter: pooled))
        }
        return RobustKD(
            teacher: TinyConvNet(seed: teacherSeed),
            student: TinyConvNet(seed: studentSeed),
            pairs: pairs,
            settings: settings
        )
    }

    static func batch(_ n: Int = 3, seed: UInt64 = 9) -> (Tensor, [Int]) {
        var rng = RandomGenerator(seed: seed)
        return (Tensor.uniform([n, 1, 4, 4], using: &rng), (0..<n).map { $0 % 3 })
    }

    /// A student equal to its teacher has no feature or Jacobian loss: the total is its cross-entropy.
    @Test(arguments: [JacobianMode.exact, .finiteDifference(step: 1e-2)])
    func theLossIsCrossEntropyWhenTheStudentIsTheTeacher(_ mode: JacobianMode) {
        let kd = Self.distiller(teacherSeed: 4, studentSeed: 4) { $0.jacobian = mode }
        let (x, y) = Self.batch()
        var random = RandomGenerator(seed: 1)
        let loss = kd.loss(x, labels: y, random: &random)
        #expect(abs(loss.feature) < 1e-6)
        #expect(abs(loss.jacobian) < 1e-10)
        #expect(abs(loss.total - loss.crossEntropy) < 1e-4, "\(loss.total) vs \(loss.crossEntropy)")
        let ce = crossEntropy(logits: kd.teacher.logits(x, context: ForwardContext()), labels: y).scalar
        #expect(abs(loss.crossEntropy - ce) < 1e-6)
    }

    /// A stop inside a step (at any of its checks: after the teacher's and the student's passes,
    /// before each layer's Jacobian pair, before the update) propagates and leaves the student as it
    /// was, batch-norm running statistics included; the step taken afterwards with the same seed is
    /// the uninterrupted one.
    @Test(arguments: [JacobianMode.exact, .finiteDifference(step: 1e-2)])
    func aStepStoppedBetweenItsPassesChangesNothing(_ mode: JacobianMode) throws {
        struct Stop: Error {}
        func distiller() -> RobustKD {
            let taps = ["stage1", "stage2"]
            var settings = RobustKDSettings()
            settings.jacobian = mode
            settings.projections = 2
            return RobustKD(
                teacher: ResNet20(inputChannels: 1, imageSize: 8, classes: 3, width: 4, seed: 1),
                student: ResNet20(inputChannels: 1, imageSize: 8, classes: 3, width: 4, seed: 2),
                pairs: taps.enumerated().map { index, tap in
                    let shape = tap == "stage1" ? [4, 8, 8] : [8, 4, 4]
                    return FeaturePair(
                        teacherTap: tap,
                        studentTap: tap,
                        adapter: FeatureAdapter(name: "adapter\(index)", student: shape, teacher: shape, seed: 3)
                    )
                },
                settings: settings
            )
        }
        var rng = RandomGenerator(seed: 4)
        let x = Tensor.uniform([4, 1, 8, 8], using: &rng)
        let y = [0, 1, 2, 0]
        func state(_ kd: RobustKD) -> [[Float]] {
            kd.trainableParameters.map(\.value.scalars) + kd.student.buffers.map(\.value.scalars)
        }
        let reference = distiller()
        var referenceOptimizer = SGD(learningRate: 0.1, momentum: 0.9)
        var random = RandomGenerator(seed: 7)
        var checks = 0
        reference.step(optimizer: &referenceOptimizer, inputs: x, labels: y, random: &random) { checks += 1 }
        #expect(checks == 2 + 2 * 2 + 1, "teacher, student, 2 projections × 2 layers, before the update")
        for stopAt in 1...checks {
            let kd = distiller()
            let before = state(kd)
            var optimizer = SGD(learningRate: 0.1, momentum: 0.9)
            var count = 0
            var random = RandomGenerator(seed: 7)
            #expect(throws: Stop.self) {
                try kd.step(optimizer: &optimizer, inputs: x, labels: y, random: &random) {
                    count += 1
                    if count == stopAt { throw Stop() }
                }
            }
            let unchanged = state(kd) == before
            #expect(unchanged, "stopped at check \(stopAt): the student changed")
            var again = RandomGenerator(seed: 7)
            kd.step(optimizer: &optimizer, inputs: x, labels: y, random: &again)
            let same = state(kd) == state(reference)
            #expect(same, "the step after a stop at check \(stopAt) differs from the uninterrupted one")
        }
    }

    /// Nothing of the teacher is on the objective's tape: its weights get exactly zero gradient.
    @Test(arguments: [JacobianMode.exact, .finiteDifference(step: 1e-2)])
    func theTeacherReceivesNoGradient(_ mode: JacobianMode) {
        let kd = Self.distiller { $0.jacobian = mode }
        let (x, y) = Self.batch()
        var random = RandomGenerator(seed: 1)
        let loss = kd.loss(x, labels: y, random: &random)
        let teacherGradients = gradient(of: loss.objective, wrt: kd.teacher.parameters.map(\.value))
        #expect(teacherGradients.allSatisfy { $0.scalars.allSatisfy { $0 == 0 } })
        let studentGradients = gradient(of: loss.objective, wrt: kd.student.parameters.map(\.value))
        #expect(studentGradients.contains { $0.scalars.contains { $0 != 0 } })
    }

    /// The exact Jacobian term's weight gradient (double back-propagation) against central differences
    /// of the loss in Double: the whole objective, CE + α·features + β·Jacobian with β = 1.
    @Test(arguments: [ProjectionScope.perLayer, .joint])
    func theExactJacobianTermsWeightGradientMatchesFiniteDifferences(_ scope: ProjectionScope) {
        let kd = Self.distiller(twoLayers: true) {
            $0.beta = 1
            $0.alpha = 0.5
            $0.projectionScope = scope
        }
        let (x, y) = Self.batch()
        let parameters = kd.trainableParameters
        let initial = parameters.map(\.value.detached)
        let result = GradientCheck.check(initial, step: 2e-3, rtol: 2e-2, atol: 1e-3) { values in
            for (p, v) in zip(parameters, values) { p.value = v }
            var random = RandomGenerator(seed: 5)
            return kd.loss(x, labels: y, random: &random).objective
        }
        for (p, v) in zip(parameters, initial) { p.value = v }
        #expect(result.passed, "\(result)")
        #expect(result.compared >= 20)
    }

    /// The finite-difference mode's weight gradient approaches the exact mode's as h shrinks, with
    /// either projection scope over two layers.
    @Test(arguments: [ProjectionScope.perLayer, .joint])
    func theFiniteDifferenceGradientApproachesTheExactOne(_ scope: ProjectionScope) {
        let (x, y) = Self.batch(4)
        func jacobianGradient(_ mode: JacobianMode) -> [Float] {
            let kd = Self.distiller(twoLayers: true) {
                $0.jacobian = mode
                $0.projectionScope = scope
                $0.useFeatures = false
                $0.beta = 1
            }
            var random = RandomGenerator(seed: 5)
            let loss = kd.loss(x, labels: y, random: &random)
            let ce = crossEntropy(logits: kd.student.logits(x, context: ForwardContext(isTraining: true)), labels: y)
            let parameters = kd.student.parameters.map(\.value)
            let total = gradient(of: loss.objective, wrt: parameters)
            let ceOnly = gradient(of: ce, wrt: parameters)
            return zip(total, ceOnly).flatMap { zip($0.scalars, $1.scalars).map { $0 - $1 } }
        }
        let exact = jacobianGradient(.exact)
        func relativeError(_ h: Float) -> Float {
            let fd = jacobianGradient(.finiteDifference(step: h))
            let difference = zip(fd, exact).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            return difference / exact.map { $0 * $0 }.reduce(0, +).squareRoot()
        }
        let errors = [0.3, 0.1, 0.03, 0.01].map { relativeError(Float($0)) }
        print("fd vs exact Jacobian gradient (\(scope)), relative error at h = 0.3, 0.1, 0.03, 0.01: \(errors)")
        #expect(errors[0] > errors[1] && errors[1] > errors[2], "\(errors)")
        #expect(errors[3] < 0.01, "\(errors)")
    }

    /// E_M[‖Mᵀ(J_s − J_t)‖²] over unit vectors M in R^O is ‖J_s − J_t‖²_F / O: the mean of the loss's
    /// Jacobian term over many draws against the full Jacobians computed row by row.
    @Test func theRandomProjectionEstimateIsUnbiased() {
        let kd = Self.distiller { $0.useFeatures = false }
        let (x, y) = Self.batch(1)
        func fullJacobian(_ model: any Classifier) -> [[Float]] {
            let input = x.tracked()
            let context = ForwardContext(isTraining: true, requestedTaps: ["features"])
            _ = model.logits(input, context: context)
            let z = context.taps["features"]!.flattened(axis: 1)
            return (0..<z.shape[1]).map { k in
                var seed = [Float](repeating: 0, count: z.shape[1])
                seed[k] = 1
                return gradient(of: z, wrt: [input], seed: Tensor(shape: z.shape, scalars: seed))[0].scalars
            }
        }
        let js = fullJacobian(kd.student)
        let jt = fullJacobian(kd.teacher)
        var frobenius = 0.0
        for (rowS, rowT) in zip(js, jt) {
            for (a, b) in zip(rowS, rowT) {
                let d = Double(a) - Double(b)
                frobenius += d * d
            }
        }
        let outputs = Double(js.count)
        var random = RandomGenerator(seed: 11)
        let draws = 4000
        var sum = 0.0
        for _ in 0..<draws { sum += Double(kd.loss(x, labels: y, random: &random).jacobian) }
        let mean = sum / Double(draws)
        #expect(abs(mean * outputs / frobenius - 1) < 0.05, "mean \(mean) × \(outputs) vs ‖D‖² \(frobenius)")
    }

    /// The joint projection J = ∂(Σ_i M_i·z_i)/∂x over two layers keeps the per-layer sum's
    /// expectation Σ_i ‖J_s,i − J_t,i‖²_F / O_i (the cross terms vanish): the mean of the loss's
    /// Jacobian term over many draws against the full Jacobians of both layers, and a single draw
    /// differs from the per-layer term (it is not the per-layer sum computed another way).
    @Test func theJointProjectionEstimateKeepsThePerLayerExpectation() {
        let (x, y) = Self.batch(1)
        let joint = Self.distiller(twoLayers: true) {
            $0.useFeatures = false
            $0.projectionScope = .joint
        }
        func fullJacobian(_ model: any Classifier, _ tap: String) -> [[Float]] {
            let input = x.tracked()
            let context = ForwardContext(isTraining: true, requestedTaps: [tap])
            _ = model.logits(input, context: context)
            let z = context.taps[tap]!.flattened(axis: 1)
            return (0..<z.shape[1]).map { k in
                var seed = [Float](repeating: 0, count: z.shape[1])
                seed[k] = 1
                return gradient(of: z, wrt: [input], seed: Tensor(shape: z.shape, scalars: seed))[0].scalars
            }
        }
        var expected = 0.0
        for tap in ["features", "pooled"] {
            let js = fullJacobian(joint.student, tap)
            let jt = fullJacobian(joint.teacher, tap)
            var frobenius = 0.0
            for (rowS, rowT) in zip(js, jt) {
                for (a, b) in zip(rowS, rowT) { frobenius += (Double(a) - Double(b)) * (Double(a) - Double(b)) }
            }
            expected += frobenius / Double(js.count)
        }
        var random = RandomGenerator(seed: 11)
        let draws = 6000
        var sum = 0.0
        for _ in 0..<draws { sum += Double(joint.loss(x, labels: y, random: &random).jacobian) }
        let mean = sum / Double(draws)
        #expect(abs(mean / expected - 1) < 0.05, "mean \(mean) vs Σ ‖D_i‖²/O_i \(expected)")

        let perLayer = Self.distiller(twoLayers: true) { $0.useFeatures = false }
        var a = RandomGenerator(seed: 12)
        var b = RandomGenerator(seed: 12)
        let jointDraw = joint.loss(x, labels: y, random: &a).jacobian
        let perLayerDraw = perLayer.loss(x, labels: y, random: &b).jacobian
        #expect(abs(jointDraw - perLayerDraw) > 1e-6 * abs(perLayerDraw), "\(jointDraw) vs \(perLayerDraw)")
    }

    /// Over one paired layer the joint projection is the per-layer one: the same draws, the same loss.
    @Test(arguments: [JacobianMode.exact, .finiteDifference(step: 1e-2)])
    func overOneLayerTheJointProjectionIsThePerLayerOne(_ mode: JacobianMode) {
        let (x, y) = Self.batch()
        func loss(_ scope: ProjectionScope) -> (RobustKDLoss, [Float]) {
            let kd = Self.distiller {
                $0.jacobian = mode
                $0.projectionScope = scope
            }
            var random = RandomGenerator(seed: 3)
            let loss = kd.loss(x, labels: y, random: &random)
            return (loss, gradient(of: loss.objective, wrt: kd.student.parameters.map(\.value)).flatMap(\.scalars))
        }
        let (joint, jointGradient) = loss(.joint)
        let (perLayer, perLayerGradient) = loss(.perLayer)
        #expect(joint.jacobian == perLayer.jacobian && joint.total == perLayer.total)
        #expect(jointGradient == perLayerGradient)
    }

    /// An adapter projects channels when they differ and pools the larger map to the smaller size.
    @Test func adaptersPoolAndProject() {
        let adapter = FeatureAdapter(name: "a", student: [3, 8, 8], teacher: [5, 4, 4], seed: 1)
        #expect(adapter.parameters.map(\.shape) == [[5, 3, 1, 1]])
        #expect(adapter.parameters.map(\.name) == ["a.weight"])
        var rng = RandomGenerator(seed: 2)
        #expect(adapter.student(Tensor.uniform([2, 3, 8, 8], using: &rng)).shape == [2, 80])
        #expect(adapter.teacher(Tensor.uniform([2, 5, 4, 4], using: &rng)).shape == [2, 80])
        let same = FeatureAdapter(name: "b", student: [4, 7, 7], teacher: [4, 7, 7], seed: 1)
        #expect(same.parameters.isEmpty)
    }
}
