import Attacks
import Audit
import Jobs

/// Turns an audit spec into a plan: one cell per attack and budget, cheapest attacks first (so that
/// numbers arrive early), each budget in increasing order within an attack.
enum AuditPlanning {
    /// Default iterations per attack kind (the proto's documented defaults).
    static func defaultSteps(_ kind: AttackKind) -> Int {
        switch kind {
        case .pgd: 7
        case .miFGSM: 10
        case .cwL2, .apgdCE, .apgdT, .fabT: 100
        case .square: 5000
        case .fgsm, .autoAttack: 1
        }
    }

    static func plan(_ spec: AuditSpec) throws -> AuditPlan {
        let norm: PerturbationNorm = spec.norm == .linf ? .linf : .l2
        var cells: [any Attack] = []
        for settings in spec.attacks.sorted(by: {
            AuditPlan.costRank($0.kind.rawValue) < AuditPlan.costRank($1.kind.rawValue)
        }) {
            for eps in spec.epsilons.sorted() {
                cells.append(attack(settings, norm: norm, epsilon: eps))
            }
        }
        let curve = spec.stepsCurve.map {
            AuditPlan.stepsCurve(norm: norm, epsilons: spec.epsilons.sorted(), steps: $0.steps)
        }
        return AuditPlan(
            norm: norm,
            cells: cells,
            batchSize: spec.batchSize,
            seed: spec.seed,
            curve: curve ?? [],
            curveExamples: spec.stepsCurve?.numExamples ?? 0
        )
    }

    static func attack(_ settings: AttackSettings, norm: PerturbationNorm, epsilon eps: Float) -> any Attack {
        let steps = settings.steps ?? defaultSteps(settings.kind)
        let restarts = settings.restarts
        switch settings.kind {
        case .fgsm: return FGSM(epsilon: eps)
        case .pgd: return PGD(norm, epsilon: eps, steps: steps, stepSize: settings.stepSize, restarts: restarts)
        case .miFGSM: return MIFGSM(epsilon: eps, steps: steps, stepSize: settings.stepSize)
        case .cwL2: return CarliniWagnerL2(epsilon: eps, steps: steps)
        case .apgdCE: return APGD(norm, epsilon: eps, loss: .crossEntropy, steps: steps, restarts: restarts)
        case .apgdT: return APGDTargeted(norm, epsilon: eps, steps: steps, restarts: restarts)
        case .fabT: return FABTargeted(norm, epsilon: eps, steps: steps)
        case .square: return Square(norm, epsilon: eps, queries: steps, restarts: restarts)
        case .autoAttack: return AutoAttack(norm, epsilon: eps)
        }
    }

    /// Refuses, before any work, attacks whose loss needs more classes than the model has.
    static func checkClasses(_ plan: AuditPlan, classes: Int) throws {
        for attack in plan.cells {
            let needed = attack.minimumClasses
            if classes < needed {
                throw JobExecutionFailure(
                    code: "too-few-classes",
                    message: "\(attack.name) needs a model with at least \(needed) classes; this one has \(classes). "
                        + "Choose other attacks (pgd, apgd-ce)"
                )
            }
        }
    }
}
