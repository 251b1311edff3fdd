import Foundation

/// What a job does, with its settings. The store keeps the kind in a column and the settings as JSON.
public enum JobSpec: Hashable, Sendable {
    /// An audit.
    case audit(AuditSpec)
    /// A hardening run.
    case harden(HardenSpec)
    /// Teacher training.
    case teacherTraining(TeacherTrainingSpec)

    /// The job's kind.
    public var kind: JobKind {
        switch self {
        case .audit: .audit
        case .harden: .harden
        case .teacherTraining: .teacherTraining
        }
    }

    /// Checks every field's range.
    /// - Throws: ``JobSpecError`` naming the first bad field.
    public func validate() throws(JobSpecError) {
        switch self {
        case .audit(let spec): try spec.validate()
        case .harden(let spec): try spec.validate()
        case .teacherTraining(let spec): try spec.validate()
        }
    }

    /// The settings as JSON (sorted keys, so equal specs give equal bytes).
    public func encodedJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        switch self {
        case .audit(let spec): return try encoder.encode(spec)
        case .harden(let spec): return try encoder.encode(spec)
        case .teacherTraining(let spec): return try encoder.encode(spec)
        }
    }

    /// Decodes settings written by ``encodedJSON()`` for a job of `kind`.
    public init(kind: JobKind, json: Data) throws {
        let decoder = JSONDecoder()
        switch kind {
        case .audit: self = .audit(try decoder.decode(AuditSpec.self, from: json))
        case .harden: self = .harden(try decoder.decode(HardenSpec.self, from: json))
        case .teacherTraining: self = .teacherTraining(try decoder.decode(TeacherTrainingSpec.self, from: json))
        }
    }
}
