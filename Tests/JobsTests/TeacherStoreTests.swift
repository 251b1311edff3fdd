import Foundation
import Testing

@testable import Jobs

@Suite struct TeacherStoreTests {
    static func manifest(name: String = "t1", epsilon: Float = 0.1) -> TeacherManifest {
        TeacherManifest(
            name: name,
            dataset: "fashion-mnist",
            inputShape: [1, 28, 28],
            classNames: (0..<10).map { "class \($0)" },
            norm: .linf,
            epsilon: epsilon,
            architecture: "resnet20-w16",
            recipe: "test",
            seed: 7,
            training: .init(
                method: "pgd-at",
                steps: 7,
                stepSize: 0.0357,
                epochs: 2,
                batchSize: 128,
                learningRate: 0.1,
                momentum: 0.9,
                weightDecay: 5e-4,
                examples: 60000,
                seconds: 12.5,
                validationAccuracy: [0.5, 0.75]
            ),
            evaluation: .init(examples: 100, clean: 0.8, pgd20: 0.6, autoAttack: 0.55, seed: 7, reportJobID: "job"),
            sha256: String(repeating: "0", count: 64),
            rkdVersion: "0.1.0",
            source: .trained,
            jobID: "job",
            createdAt: Date(timeIntervalSince1970: 1_800_000_000)
        )
    }

    /// The manifest survives encoding and decoding unchanged.
    @Test func manifestRoundTrips() throws {
        let manifest = Self.manifest()
        let decoded = try TeacherManifest.decode(try manifest.encoded(), what: "test")
        #expect(decoded == manifest)
        #expect(decoded.evaluation?.robust == 0.55)
    }

    /// What a teacher must state is checked on reading: the threat model, the input shape, the classes.
    @Test func manifestsMissingWhatATeacherMustStateAreRefused() throws {
        var noThreat = Self.manifest()
        noThreat.epsilon = 0
        var badShape = Self.manifest()
        badShape.inputShape = [28, 28]
        var oneClass = Self.manifest()
        oneClass.classNames = ["only"]
        var emptyRange = Self.manifest()
        emptyRange.inputMax = 0
        for (manifest, word) in [
            (noThreat, "threat model"), (badShape, "input shape"), (oneClass, "class names"),
            (emptyRange, "input range"),
        ] {
            let error = #expect(throws: ArtifactStoreError.self) {
                _ = try TeacherManifest.decode(try manifest.encoded(), what: "test")
            }
            #expect(error?.code == .invalidManifest)
            #expect(error?.message.contains(word) == true, "\(error?.message ?? "")")
        }
        var future = Self.manifest()
        future.schema = TeacherManifest.currentSchema + 1
        #expect(throws: ArtifactStoreError.self) { _ = try TeacherManifest.decode(try future.encoded(), what: "x") }
    }

    /// Install, list, read back with the digest checked, refuse a taken name, replace, remove.
    @Test func installListReplaceRemove() throws {
        let directory = try TemporaryDirectory()
        let store = try TeacherStore(root: directory.url)
        let model = Data("onnx bytes".utf8)
        let entry = try store.install(name: "t1", model: model, manifest: Self.manifest(name: "ignored"))
        #expect(entry.manifest.name == "t1")
        #expect(entry.manifest.sha256 == SHA256.hash(model).hex)
        #expect(store.list().teachers.map(\.name) == ["t1"])
        #expect(try store.model("t1").bytes == model)

        let taken = #expect(throws: ArtifactStoreError.self) {
            try store.install(name: "t1", model: model, manifest: Self.manifest())
        }
        #expect(taken?.code == .alreadyExists)
        let replacement = Data("other bytes".utf8)
        try store.install(name: "t1", model: replacement, manifest: Self.manifest(), replace: true)
        #expect(try store.model("t1").bytes == replacement)

        // A file changed on disk is caught.
        try Data("tampered".utf8).write(to: store.entry("t1").modelURL)
        #expect(throws: ArtifactStoreError.self) { _ = try store.model("t1") }

        try store.remove("t1")
        #expect(store.list().teachers.isEmpty)
        let missing = #expect(throws: ArtifactStoreError.self) { _ = try store.entry("t1") }
        #expect(missing?.code == .notFound)
        #expect(throws: ArtifactStoreError.self) { _ = try store.entry("../etc") }
    }

    /// A crash between moving the old teacher aside and renaming the new one in: opening the store
    /// puts the old one back; staging leftovers are deleted.
    @Test func openingTheStoreRepairsAnInterruptedReplacement() throws {
        let directory = try TemporaryDirectory()
        let store = try TeacherStore(root: directory.url)
        try store.install(name: "t1", model: Data("old".utf8), manifest: Self.manifest())
        let teachers = store.directory
        try FileManager.default.moveItem(
            at: teachers.appendingPathComponent("t1"),
            to: teachers.appendingPathComponent(".replaced-t1")
        )
        try FileManager.default.createDirectory(
            at: teachers.appendingPathComponent(".staging-1-2"),
            withIntermediateDirectories: false
        )
        let reopened = try TeacherStore(root: directory.url)
        #expect(try reopened.model("t1").bytes == Data("old".utf8))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: teachers.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
