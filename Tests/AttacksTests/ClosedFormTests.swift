import Attacks
import Testing

/// Attacks on linear models, whose optimal attacks are known in closed form.
@Suite("Attacks against closed-form answers")
struct ClosedFormTests {
    static let problem = LinearProblem(classes: 5, count: 60, seed: 11)

    static func budgetAttacks(_ norm: PerturbationNorm, _ eps: Float) -> [any Attack] {
        var attacks: [any Attack] = [
            PGD(norm, epsilon: eps, steps: 40),
            APGD(norm, epsilon: eps, loss: .crossEntropy, steps: 100),
            APGD(norm, epsilon: eps, loss: .dlr, steps: 100),
            APGDTargeted(norm, epsilon: eps, steps: 50, targets: 4),
            FABTargeted(norm, epsilon: eps, steps: 100, targets: 4),
            Square(norm, epsilon: eps, queries: 2000),
            AutoAttack(norm, epsilon: eps),
        ]
        if norm == .linf {
            attacks += [FGSM(epsilon: eps), MIFGSM(epsilon: eps, steps: 20)]
        } else {
            attacks.append(CarliniWagnerL2(epsilon: eps, steps: 100, binarySearchSteps: 9))
        }
        return attacks
    }

    /// No attack fools an example that is provably robust (that would mean a perturbation outside
    /// the ball), and the strong ones fool all but a few of those that are not.
    @Test(arguments: PerturbationNorm.allCases)
    func robustAccuracyMatchesTheExactValue(norm: PerturbationNorm) throws {
        let p = Self.problem
        let eps = p.medianDistance(norm)
        let exact = p.exactRobustAccuracy(norm, epsilon: eps)
        #expect(exact > 0.3 && exact < 0.7)
        for attack in Self.budgetAttacks(norm, eps) {
            let result = try attack.run(on: p.model, p.batch)
            for i in 0..<p.batch.count where result.fooled[i] {
                #expect(
                    p.minimalDistance(i, norm) <= Double(eps) * (1 + 1e-4) + 1e-6,
                    "\(attack.name) fooled example \(i), which is robust at ε = \(eps)"
                )
            }
            // Weak attacks (one step, no restarts, the cross-entropy's mixed direction) may miss
            // examples near the boundary; the rest come within a few percent of the optimum. Square's
            // L2 proposals are smooth bumps while a random linear model's best direction is white
            // noise on a 4×4 image: it must fool examples, but cannot match the optimum here.
            let slack =
                attack.name == "square" && norm == .l2
                ? 0.4 : (["fgsm", "mi-fgsm", "pgd", "square"].contains(attack.name) ? 0.12 : 0.04)
            #expect(
                result.robustAccuracy <= exact + slack,
                "\(attack.name) \(norm): robust accuracy \(result.robustAccuracy), exact \(exact)"
            )
        }
    }

    /// The minimum-norm attacks find the smallest perturbation within a few percent.
    @Test(arguments: PerturbationNorm.allCases)
    func minimumNormAttacksFindTheMinimalDistance(norm: PerturbationNorm) throws {
        let p = Self.problem
        var attacks: [any Attack] = [FABTargeted(norm, epsilon: 10, steps: 100, targets: 4)]
        if norm == .l2 { attacks.append(CarliniWagnerL2(epsilon: 10, steps: 200, binarySearchSteps: 12)) }
        for attack in attacks {
            let result = try attack.run(on: p.model, p.batch)
            var ratios: [Double] = []
            for i in 0..<p.batch.count {
                #expect(result.fooled[i], "\(attack.name) did not fool example \(i) with a budget of 10")
                let found = Double(result.perturbations[i].value(norm))
                let minimal = p.minimalDistance(i, norm)
                #expect(found >= minimal * (1 - 1e-3) - 1e-6, "\(attack.name): \(found) below the minimum \(minimal)")
                ratios.append(found / minimal)
            }
            ratios.sort()
            let median = ratios[ratios.count / 2]
            #expect(median < 1.05, "\(attack.name) \(norm): median found/minimal \(median), worst \(ratios.last ?? 0)")
        }
    }
}
