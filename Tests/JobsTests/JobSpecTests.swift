import Foundation
import Testing

@testable import Jobs

@Suite struct JobSpecTests {
    @Test(arguments: [
        JobSpec.audit(Fixtures.audit()), .harden(Fixtures.harden()), .teacherTraining(Fixtures.teacher()),
    ])
    func specsSurviveTheirJSON(spec: JobSpec) throws {
        try spec.validate()
        let decoded = try JobSpec(kind: spec.kind, json: try spec.encodedJSON())
        #expect(decoded == spec)
        // Sorted keys: the same spec always gives the same bytes.
        #expect(try decoded.encodedJSON() == spec.encodedJSON())
    }

    /// An audit spec stored before `first_example` existed decodes, starting at the first example;
    /// a slice survives the JSON.
    @Test func auditSpecsWithoutAFirstExampleDecode() throws {
        var spec = Fixtures.audit()
        let old = try JobSpec.audit(spec).encodedJSON()
        #expect(!String(decoding: old, as: UTF8.self).contains("firstExample"))
        guard case .audit(let decoded) = try JobSpec(kind: .audit, json: old) else {
            Issue.record("not an audit")
            return
        }
        #expect(decoded.firstExample == nil)
        spec.firstExample = 500
        guard case .audit(let slice) = try JobSpec(kind: .audit, json: try JobSpec.audit(spec).encodedJSON()) else {
            Issue.record("not an audit")
            return
        }
        #expect(slice.firstExample == 500)
    }

    /// A hardening spec stored before `projectionScope` existed decodes as per layer; a joint one
    /// survives the JSON.
    @Test func hardenSpecsWithoutAProjectionScopeDecode() throws {
        var spec = Fixtures.harden()
        spec.projectionScope = .joint
        let json = try JobSpec.harden(spec).encodedJSON()
        guard case .harden(let joint) = try JobSpec(kind: .harden, json: json) else {
            Issue.record("not a harden spec")
            return
        }
        #expect(joint.projectionScope == .joint)
        var object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object.removeValue(forKey: "projectionScope") != nil)
        let old = try JSONSerialization.data(withJSONObject: object)
        guard case .harden(let decoded) = try JobSpec(kind: .harden, json: old) else {
            Issue.record("not a harden spec")
            return
        }
        #expect(decoded.projectionScope == .perLayer)
        spec.projectionScope = .perLayer
        #expect(decoded == spec)
    }

    @Test func decodingAsTheWrongKindFails() throws {
        let json = try JobSpec.audit(Fixtures.audit()).encodedJSON()
        #expect(throws: DecodingError.self) { try JobSpec(kind: .teacherTraining, json: json) }
    }

    /// Ways to break an audit spec, each with the field the error must name (in the proto's spelling).
    enum BrokenAudit: CaseIterable {
        case zeroEpsilon, nanEpsilon, noEpsilons, noAttacks, attackOutsideItsNorm, zeroSteps, negativeStepSize
        case failUnderInPercent, zeroBatch, repeatedClass, unnamedDataset, missingStd, zeroStd, negativeFirstExample

        var field: String {
            switch self {
            case .zeroEpsilon: "spec.epsilons[1]"
            case .nanEpsilon: "spec.epsilons[0]"
            case .noEpsilons: "spec.epsilons"
            case .noAttacks: "spec.attacks"
            case .attackOutsideItsNorm: "spec.attacks[0]"
            case .zeroSteps: "spec.attacks[0].steps"
            case .negativeStepSize: "spec.attacks[1].step_size"
            case .failUnderInPercent: "spec.fail_under"
            case .zeroBatch: "spec.batch_size"
            case .repeatedClass: "spec.data.classes"
            case .unnamedDataset: "spec.data.name"
            case .missingStd: "spec.preprocessing"
            case .zeroStd: "spec.preprocessing.std[0]"
            case .negativeFirstExample: "spec.first_example"
            }
        }

        func apply(to spec: inout AuditSpec) {
            switch self {
            case .zeroEpsilon: spec.epsilons = [0.1, 0]
            case .nanEpsilon: spec.epsilons = [.nan]
            case .noEpsilons: spec.epsilons = []
            case .noAttacks: spec.attacks = []
            case .attackOutsideItsNorm: spec.attacks = [AttackSettings(.cwL2)]
            case .zeroSteps: spec.attacks[0].steps = 0
            case .negativeStepSize: spec.attacks[1].stepSize = -1
            case .failUnderInPercent: spec.failUnder = 40
            case .zeroBatch: spec.batchSize = 0
            case .repeatedClass: spec.data.classes = [3, 3]
            case .unnamedDataset: spec.data.name = ""
            case .missingStd: spec.preprocessing = Preprocessing(mean: [0.5], std: [])
            case .zeroStd: spec.preprocessing = Preprocessing(mean: [0.5], std: [0])
            case .negativeFirstExample: spec.firstExample = -1
            }
        }
    }

    @Test(arguments: BrokenAudit.allCases)
    func badAuditFields(broken: BrokenAudit) {
        var spec = Fixtures.audit()
        broken.apply(to: &spec)
        let error = #expect(throws: JobSpecError.self) { try spec.validate() }
        #expect(error?.field == broken.field)
    }

    @Test func anL2AuditAcceptsCarliniWagnerButNotFGSM() throws {
        var spec = Fixtures.audit()
        spec.norm = .l2
        spec.attacks = [AttackSettings(.cwL2), AttackSettings(.pgd)]
        try spec.validate()
        spec.attacks.append(AttackSettings(.fgsm))
        let error = #expect(throws: JobSpecError.self) { try spec.validate() }
        #expect(error?.field == "spec.attacks[2]")
    }

    @Test func hardeningNeedsATeacherUnlessItTrainsAdversarially() throws {
        var spec = Fixtures.harden()
        spec.teacher = nil
        #expect(throws: JobSpecError.self) { try spec.validate() }
        spec.method = .adversarialTraining
        #expect((try? spec.validate()) == nil, "adversarial training without a threat model must be refused")
        spec.adversarial = AdversarialTraining(norm: .linf, epsilon: 0.1, steps: 7)
        try spec.validate()
    }

    @Test func hardeningChecksItsNestedAuditAndSchedule() {
        var spec = Fixtures.harden()
        spec.audit?.epsilons = [-0.1]
        #expect((#expect(throws: JobSpecError.self) { try spec.validate() })?.field == "spec.audit.epsilons[0]")
        spec = Fixtures.harden()
        spec.schedule.momentum = 1
        #expect((#expect(throws: JobSpecError.self) { try spec.validate() })?.field == "spec.schedule.momentum")
        spec = Fixtures.harden()
        spec.beta = -1
        #expect((#expect(throws: JobSpecError.self) { try spec.validate() })?.field == "spec.beta")
    }

    /// A step schedule survives the JSON, its milestones must be ascending epochs inside the run and
    /// its factor in (0, 1); a spec stored before schedules had a decay decodes as cosine.
    @Test func stepSchedulesAreCheckedAndOldSpecsDecodeAsCosine() throws {
        var spec = Fixtures.teacher()
        spec.schedule.epochs = 30
        spec.schedule.decay = .step(milestoneEpochs: [15, 25], gamma: 0.1)
        try spec.validate()
        let json = try JobSpec.teacherTraining(spec).encodedJSON()
        #expect(try JobSpec(kind: .teacherTraining, json: json) == .teacherTraining(spec))
        #expect(spec.schedule.decayDescription == "step ×0.1 at epochs 15, 25")
        for (milestones, gamma, field) in [
            ([25, 15], Float(0.1), "spec.schedule.step_milestones"), ([0], 0.1, "spec.schedule.step_milestones"),
            ([30], 0.1, "spec.schedule.step_milestones"), ([], 0.1, "spec.schedule.step_milestones"),
            ([15], 1, "spec.schedule.step_gamma"), ([15], 0, "spec.schedule.step_gamma"),
        ] {
            var broken = spec
            broken.schedule.decay = .step(milestoneEpochs: milestones, gamma: gamma)
            #expect(
                (#expect(throws: JobSpecError.self) { try broken.validate() })?.field == field,
                "\(milestones) \(gamma)"
            )
        }
        var old =
            try JSONSerialization.jsonObject(with: try JSONEncoder().encode(Fixtures.schedule())) as! [String: Any]
        #expect(old.removeValue(forKey: "decay") != nil)
        let decoded = try JSONDecoder().decode(
            TrainingSchedule.self,
            from: try JSONSerialization.data(withJSONObject: old)
        )
        #expect(decoded == Fixtures.schedule() && decoded.decay == .cosine)
    }

    @Test(arguments: [
        ("fmnist-resnet20-at", true), ("a", true), ("0.teacher_v2", true), (String(repeating: "x", count: 64), true),
        ("", false), (".hidden", false), ("-dash", false), ("Upper", false), ("a/b", false), ("..", false),
        (String(repeating: "x", count: 65), false), ("tëacher", false),
    ])
    func teacherNames(name: String, valid: Bool) {
        #expect(TeacherTrainingSpec.isValidTeacherName(name) == valid)
    }
}
