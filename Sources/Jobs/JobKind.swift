/// What a job does.
public enum JobKind: String, Codable, Sendable, CaseIterable {
    /// An audit of a model against a suite of attacks.
    case audit
    /// Fine-tuning a model for robustness, audited before and after.
    case harden
    /// Adversarial training of a new teacher.
    case teacherTraining = "teacher-training"
}
