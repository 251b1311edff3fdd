import Attacks
import Audit
import Datasets
import Foundation
import Jobs
import NPY
import ONNXInterop

/// Runs audit jobs: imports the stored model, loads the examples, runs every attack at every budget
/// with the ``AuditRunner`` (checkpointing after every batch, so a stopped or crashed audit resumes
/// where it was), and writes `report.json`, `report.md` and `report.html`.
public struct AuditExecutor: JobExecutor {
    /// An executor; the data sets come from the daemon's catalog (built-in and configured).
    public init() {}

    public func run(_ context: JobExecutionContext) async throws {
        guard case .audit(let spec) = context.job.spec else {
            throw JobExecutionFailure(code: "wrong-kind", message: "the audit executor runs audit jobs only")
        }
        guard let modelURL = context.modelURL else {
            throw JobExecutionFailure(code: "model-missing", message: "the job's model is not stored; upload it again")
        }
        let report = try await Self.audit(
            modelURL: modelURL,
            digest: context.job.modelDigest ?? "",
            spec: spec,
            context: context
        )
        let summary = report.attacks.map {
            "\($0.name)@\($0.epsilon) \(String(format: "%.1f", 100 * $0.robustAccuracy)) %"
        }
        await context.log(
            .info,
            "audit done: clean \(String(format: "%.1f", 100 * report.cleanAccuracy)) %; "
                + summary.joined(separator: ", ")
        )
    }

    /// Audits the model at `modelURL` as `spec` says, resumable from the checkpoint `checkpointName`,
    /// and writes the report as `<prefix>.json`, `.md` and `.html`. Hardening jobs run it twice, on the
    /// model before and after, with their own names.
    static func audit(
        modelURL: URL,
        digest: String,
        spec: AuditSpec,
        context: JobExecutionContext,
        checkpointName: String = JobExecutionContext.checkpointName,
        reportPrefix: String = "report",
        modelName: String? = nil
    ) async throws -> AuditReport {
        await context.log(.info, "loading the model and \(spec.data.name) (\(spec.data.split.rawValue))")
        var classifier = try Self.classifier(modelURL, spec: spec, limits: context.importLimits)
        var examples = try
            (spec.data.uploaded.map { try Self.uploadedExamples($0, artifacts: context.artifacts) }
            ?? Self.selection(spec, datasets: context.datasets))
            .slice(first: spec.firstExample ?? 0, count: spec.numExamples, of: spec.data.name)
        do {
            try classifier.measure(exampleShape: examples.exampleShape)
        } catch {
            throw JobExecutionFailure(
                code: "model-does-not-fit-data",
                message: "the model cannot run \(spec.data.name) examples of shape \(examples.exampleShape): \(error)"
            )
        }
        // A k-way model audited on k selected classes numbers them 0..<k in the order given.
        if spec.data.uploaded == nil,
            let position = Dataset.numbering(
                of: spec.data.classes,
                outputs: classifier.classCount,
                classCount: examples.classNames.count
            )
        {
            examples.classNames = spec.data.classes.map { examples.classNames[$0] }
            examples.labels = examples.labels.map { position[$0] ?? $0 }
        }
        if let bad = examples.labels.first(where: { $0 >= classifier.classCount }) {
            throw JobExecutionFailure(
                code: "model-does-not-fit-data",
                message: "\(spec.data.name) has label \(bad) but the model has \(classifier.classCount) classes; "
                    + "select classes the model knows (data.classes) or audit a model trained on this data set"
            )
        }
        let plan = try AuditPlanning.plan(spec)
        try AuditPlanning.checkClasses(plan, classes: classifier.classCount)

        var state = AuditState(cells: plan.allCells.count)
        if let saved = try context.loadCheckpoint(name: checkpointName) {
            do {
                state = try JSONDecoder().decode(AuditState.self, from: saved)
                let done = state.outcomes.map(\.count).reduce(0, +)
                await context.log(.info, "resuming from a checkpoint: \(done) attack results already done")
            } catch {
                await context.log(.warning, "the checkpoint is unreadable (\(error)); starting over")
            }
        }
        var runner = AuditRunner(
            model: StoppableModel(model: classifier) { try context.checkStop() },
            examples: examples,
            plan: plan
        )
        runner.checkpoint = { try context.saveCheckpoint(try JSONEncoder().encode($0), name: checkpointName) }
        let label = reportPrefix == "report" ? "" : "\(reportPrefix): "
        runner.progress = { cell, done, total in
            let attack = plan.allCells[cell]
            let curve = cell >= plan.cells.count ? " steps=\(attack.settings["steps"] ?? "?") (curve)" : ""
            try await context.reportProgress(
                phase: "\(label)\(attack.name) ε=\(attack.threat.epsilon)\(curve) (\(cell + 1)/\(plan.allCells.count))",
                done: done,
                total: total,
                unit: "examples"
            )
        }
        runner.checkStop = { try context.checkStop() }
        let finished = try await runner.run(state: state)

        let report = AuditReport(
            plan: plan,
            examples: examples,
            state: finished,
            context: AuditContext(
                rkdVersion: DaemonContext.version,
                model: .init(
                    digest: digest,
                    name: modelName ?? modelURL.lastPathComponent,
                    outputKind: classifier.outputNote == nil ? "logits" : "probabilities"
                ),
                dataName: spec.data.name,
                split: spec.data.split.rawValue,
                classCount: classifier.classCount,
                failUnder: spec.failUnder,
                probabilityOutputNote: classifier.outputNote
            )
        )
        try await Self.write(report, context, prefix: reportPrefix)
        return report
    }

    /// Writes the report in every format, as `<prefix>.json`, `.md` and `.html`.
    static func write(_ report: AuditReport, _ context: JobExecutionContext, prefix: String = "report") async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try await context.writeArtifact(
            name: "\(prefix).json",
            mediaType: "application/json",
            try encoder.encode(report)
        )
        try await context.writeArtifact(
            name: "\(prefix).md",
            mediaType: "text/markdown",
            Data(report.markdown().utf8)
        )
        try await context.writeArtifact(name: "\(prefix).html", mediaType: "text/html", Data(report.html().utf8))
    }

    /// Imports the model.
    static func classifier(_ url: URL, spec: AuditSpec, limits: ImportLimits) throws -> ImportedClassifier {
        do {
            let model = try ONNXModel.limited(try Data(contentsOf: url), limits: limits)
            return try ImportedClassifier(
                model: model,
                preprocessing: spec.preprocessing.mean.isEmpty
                    ? nil : (spec.preprocessing.mean, spec.preprocessing.std),
                declaredKind: spec.outputKind.map { $0 == .logits ? .logits : .probabilities }
            )
        } catch {
            throw JobExecutionFailure(code: "model-unsupported", message: "rkd cannot run this model: \(error)")
        }
    }

    /// Examples uploaded as two .npy files (inputs (N, C, H, W) or (N, H, W) in [0, 1], or uint8; labels).
    static func uploadedExamples(
        _ uploaded: DatasetSelection.UploadedExamples,
        artifacts: ArtifactStore
    ) throws
        -> AuditExamples
    {
        func load(_ digest: String, _ what: String) throws -> NPYArray {
            guard let parsed = SHA256Digest(hex: digest) else {
                throw JobExecutionFailure(
                    code: "data-unavailable",
                    message: "the \(what) digest \(digest) is not a SHA-256"
                )
            }
            do {
                return try NPYArray(npy: try artifacts.readModel(digest: parsed))
            } catch {
                throw JobExecutionFailure(
                    code: "data-unavailable",
                    message: "the uploaded \(what) file (\(digest)) is not a readable .npy array: \(error)"
                )
            }
        }
        let inputs = try load(uploaded.inputsDigest, "inputs")
        let labelArray = try load(uploaded.labelsDigest, "labels")
        var shape = inputs.shape
        if shape.count == 3 { shape.insert(1, at: 1) }
        guard shape.count == 4, shape[0] > 0 else {
            throw JobExecutionFailure(
                code: "data-invalid",
                message: "the inputs .npy has shape \(inputs.shape); give images as (N, C, H, W) or (N, H, W)"
            )
        }
        let labels: [Int]
        do {
            labels = try labelArray.integers()
        } catch {
            throw JobExecutionFailure(
                code: "data-invalid",
                message: "the labels .npy must hold whole numbers: \(error)"
            )
        }
        guard labelArray.shape.count == 1, labels.count == shape[0] else {
            throw JobExecutionFailure(
                code: "data-invalid",
                message:
                    "\(labels.count) labels of shape \(labelArray.shape) for \(shape[0]) inputs; give one label per image"
            )
        }
        if let bad = labels.first(where: { $0 < 0 }) {
            throw JobExecutionFailure(
                code: "data-invalid",
                message: "label \(bad) is negative; labels are class indices"
            )
        }
        var values = inputs.floats
        if case .uint8 = inputs.elements {
            values = values.map { $0 / 255 }
        } else if let bad = values.first(where: { !($0 >= 0 && $0 <= 1) }) {
            throw JobExecutionFailure(
                code: "data-invalid",
                message: "input value \(bad) is outside [0, 1]; scale pixels to [0, 1] (e.g. x / 255) and use "
                    + "preprocessing for the model's normalisation"
            )
        }
        return AuditExamples(
            inputs: values,
            labels: labels,
            indices: Array(0..<labels.count),
            exampleShape: Array(shape.dropFirst())
        )
    }

    /// All the examples of the spec's data selection (``AuditExamples/slice(first:count:of:)`` then
    /// takes the audit's).
    static func selection(_ spec: AuditSpec, datasets: DatasetCatalog) throws -> AuditExamples {
        let dataset: Dataset
        do {
            dataset = try datasets.load(
                spec.data.name,
                split: spec.data.split == .train ? .train : .test,
                classes: spec.data.classes,
                half: spec.data.half.map { $0 == .first ? .first : .second }
            )
        } catch {
            throw JobExecutionFailure(code: "data-unavailable", message: error.description)
        }
        return AuditExamples(
            inputs: dataset.images,
            labels: dataset.labels,
            indices: dataset.sourceIndices,
            exampleShape: dataset.exampleShape,
            classNames: dataset.classNames
        )
    }
}

extension AuditExamples {
    /// `count` examples (0: all the rest) from position `first` on; fewer when the selection ends
    /// first.
    /// - Throws: ``JobExecutionFailure`` (examples-out-of-range) when `first` is not before the end
    ///   of the selection (`name` names it in the message).
    func slice(first: Int, count: Int, of name: String) throws -> AuditExamples {
        guard first < self.count else {
            throw JobExecutionFailure(
                code: "examples-out-of-range",
                message: "the selection of \(name) has \(self.count) examples, so the audit cannot start at "
                    + "example \(first); give a first example below \(self.count)"
            )
        }
        let end = count == 0 ? self.count : min(first + count, self.count)
        guard first > 0 || end < self.count else { return self }
        let size = exampleShape.reduce(1, *)
        return AuditExamples(
            inputs: Array(inputs[first * size..<end * size]),
            labels: Array(labels[first..<end]),
            indices: Array(indices[first..<end]),
            exampleShape: exampleShape,
            classNames: classNames
        )
    }
}
