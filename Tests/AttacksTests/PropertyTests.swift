import Attacks
import Testing

/// Properties every attack must have, whatever the model.
@Suite("Attack properties")
struct PropertyTests {
    static let problem = LinearProblem(classes: 5, count: 24, seed: 21)

    /// Every attack at a budget, with small settings (the properties do not need strength).
    static func attacks(_ eps: Float) -> [any Attack] {
        [
            FGSM(epsilon: eps),
            PGD(.linf, epsilon: eps, steps: 10, restarts: 1),
            PGD(.l2, epsilon: eps * 4, steps: 10, restarts: 1),
            MIFGSM(epsilon: eps, steps: 10),
            CarliniWagnerL2(epsilon: eps * 4, steps: 20, binarySearchSteps: 4),
            APGD(.linf, epsilon: eps, steps: 20),
            APGD(.l2, epsilon: eps * 4, loss: .dlr, steps: 20),
            APGDTargeted(.linf, epsilon: eps, steps: 10, targets: 3),
            FABTargeted(.linf, epsilon: eps, steps: 10, targets: 3),
            FABTargeted(.l2, epsilon: eps * 4, steps: 10, targets: 3),
            Square(.linf, epsilon: eps, queries: 100),
            Square(.l2, epsilon: eps * 4, queries: 100),
            AutoAttack(
                .linf,
                epsilon: eps,
                members: [
                    APGD(.linf, epsilon: eps, steps: 10), APGDTargeted(.linf, epsilon: eps, steps: 10, targets: 3),
                    FABTargeted(.linf, epsilon: eps, steps: 10, targets: 3), Square(.linf, epsilon: eps, queries: 100),
                ]
            ),
        ]
    }

    static let names = attacks(0.1).map { "\($0.name) \($0.threat.norm)" }

    @Test(arguments: 0..<13)
    func zeroBudgetReturnsTheInput(_ which: Int) throws {
        let p = Self.problem
        let attack = Self.attacks(0)[which]
        let inputs = p.batch.inputs
        let result = try attack.run(on: p.model, p.batch)
        #expect(p.batch.inputs == inputs, "\(Self.names[which]) changed the caller's buffer")
        #expect(result.adversarial == inputs, "\(Self.names[which]) moved an input with ε = 0")
        #expect(result.fooled.allSatisfy { !$0 }, "\(Self.names[which]) fooled a correctly classified input with ε = 0")
    }

    @Test(arguments: 0..<13)
    func perturbationsStayInTheBallAndTheBounds(_ which: Int) throws {
        let p = Self.problem
        let attack = Self.attacks(0.12)[which]
        let result = try attack.run(on: p.model, p.batch)
        let d = p.model.dimension
        let eps = attack.threat.epsilon
        #expect(result.adversarial.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, "\(Self.names[which])")
        for i in 0..<p.batch.count {
            var largest: Float = 0
            var squared: Float = 0
            for j in i * d..<(i + 1) * d {
                let delta = result.adversarial[j] - p.batch.inputs[j]
                largest = max(largest, abs(delta))
                squared += delta * delta
            }
            let size = attack.threat.norm == .linf ? largest : squared.squareRoot()
            #expect(size <= eps + 1e-6, "\(Self.names[which]) example \(i): perturbation \(size) > ε = \(eps)")
            #expect(result.perturbations[i].value(attack.threat.norm) == size)
        }
        // Robust ≤ clean (clean accuracy is 1 here), and at least something was fooled at this budget.
        #expect(result.fooled.contains(true), "\(Self.names[which]) fooled nothing at ε = \(eps)")
        // A fooled example's stored prediction is wrong at its stored point.
        for i in 0..<p.batch.count where result.fooled[i] {
            #expect(result.predictions[i] != p.batch.labels[i])
            let members = (attack as? AutoAttack)?.members.map(\.name) ?? [attack.name]
            #expect(members.contains(result.fooledBy[i]), "\(result.fooledBy[i])")
        }
    }

    @Test(arguments: 0..<13)
    func fixedSeedsReproduceAndBatchesDoNotMatter(_ which: Int) throws {
        let p = Self.problem
        let attack = Self.attacks(0.12)[which]
        let whole = try attack.run(on: p.model, p.batch)
        let again = try attack.run(on: p.model, p.batch)
        #expect(whole.adversarial == again.adversarial && whole.queries == again.queries, "\(Self.names[which])")
        // One at a time, and in a shuffled batch of another size: the same per-example results.
        let d = p.model.dimension
        for i in [0, 5, 17] {
            let single = try attack.run(on: p.model, p.batch.subset([i], dimension: d))
            #expect(
                Array(whole.adversarial[i * d..<(i + 1) * d]) == single.adversarial,
                "\(Self.names[which]) example \(i) alone differs"
            )
            #expect(whole.fooled[i] == single.fooled[0] && whole.queries[i] == single.queries[0])
        }
        let order = [17, 3, 9, 0, 5, 22, 11]
        let shuffled = try attack.run(on: p.model, p.batch.subset(order, dimension: d))
        for (k, i) in order.enumerated() {
            #expect(
                Array(whole.adversarial[i * d..<(i + 1) * d]) == Array(shuffled.adversarial[k * d..<(k + 1) * d]),
                "\(Self.names[which]) example \(i) in another batch differs"
            )
        }
        // Another seed changes the random choices of attacks that make any.
        var reseeded = p.batch
        reseeded.seed += 1
        _ = try attack.run(on: p.model, reseeded)
    }

    @Test func theEnsembleIsAtLeastAsStrongAsEachMember() throws {
        let p = Self.problem
        let eps: Float = 0.1
        guard let ensemble = Self.attacks(eps).last as? AutoAttack else {
            Issue.record("the last attack is not the ensemble")
            return
        }
        let result = try ensemble.run(on: p.model, p.batch)
        for member in ensemble.members {
            let alone = try member.run(on: p.model, p.batch)
            #expect(result.robustAccuracy <= alone.robustAccuracy, "autoattack weaker than \(member.name)")
        }
        #expect(result.fooledBy.allSatisfy { $0 == "" || ensemble.members.map(\.name).contains($0) })
    }

    @Test func moreStepsAreNeverWorse() throws {
        let p = Self.problem
        for norm in PerturbationNorm.allCases {
            let eps: Float = norm == .linf ? 0.08 : 0.3
            var previous = 1.1
            for steps in [1, 3, 10, 30] {
                let result = try PGD(norm, epsilon: eps, steps: steps, stepSize: eps / 8).run(on: p.model, p.batch)
                #expect(result.robustAccuracy <= previous, "pgd \(norm) with \(steps) steps got weaker")
                previous = result.robustAccuracy
            }
        }
    }

    @Test func lossesThatNeedMoreClassesSaySo() throws {
        for classes in [2, 3] {
            let p = LinearProblem(classes: classes, count: 4, seed: 5)
            var attacks: [any Attack] = [APGDTargeted(.linf, epsilon: 0.1), AutoAttack(.linf, epsilon: 0.1)]
            if classes == 2 { attacks.append(APGD(.linf, epsilon: 0.1, loss: .dlr)) }
            for attack in attacks {
                do {
                    _ = try attack.run(on: p.model, p.batch)
                    Issue.record("\(attack.name) ran on \(classes) classes")
                } catch let error as AttackError {
                    #expect(error.code == .tooFewClasses)
                    #expect(error.message.contains(attack.name) && error.message.contains("\(classes)"), "\(error)")
                }
            }
        }
        // The cross-entropy attacks work with two classes.
        let p = LinearProblem(classes: 2, count: 4, seed: 5)
        _ = try PGD(.linf, epsilon: 0.1).run(on: p.model, p.batch)
    }

    @Test func badSettingsAreRefused() {
        let p = Self.problem
        let bad: [any Attack] = [
            PGD(.linf, epsilon: 0.1, steps: 0), PGD(.linf, epsilon: -1), APGD(.l2, epsilon: 0.1, steps: 0),
            Square(.linf, epsilon: 0.1, pInit: 0), FABTargeted(.linf, epsilon: 0.1, targets: 0),
            CarliniWagnerL2(epsilon: 1, steps: 0), MIFGSM(epsilon: .nan),
        ]
        for attack in bad {
            #expect(throws: AttackError.self, "\(attack.name)") { _ = try attack.run(on: p.model, p.batch) }
        }
    }
}
