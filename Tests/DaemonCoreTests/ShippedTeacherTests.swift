import DaemonAPI
import Datasets
import Foundation
import Jobs
import ONNXInterop
import TensorEngine
import Testing

/// The teacher rkd ships (samples/teachers/fmnist-resnet20-linf): its manifest is valid and names the
/// file's digest, the engine runs it with the clean accuracy the manifest states on the same test
/// images, and rkdd stores it as a bundled teacher on its first start.
@Suite("The shipped teacher", .serialized)
struct ShippedTeacherTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples/teachers/fmnist-resnet20-linf")

    @Test func manifestMatchesTheFileAndTheAccuracyIsReproduced() throws {
        let model = try Data(contentsOf: Self.directory.appendingPathComponent("teacher.onnx"))
        let manifest = try TeacherManifest.decode(
            try Data(contentsOf: Self.directory.appendingPathComponent("manifest.json")),
            what: "the shipped manifest"
        )
        #expect(manifest.name == "fmnist-resnet20-linf" && manifest.dataset == "fashion-mnist")
        #expect(manifest.sha256 == SHA256.hash(model).hex, "the manifest's digest is not the file's")
        #expect(manifest.norm == .linf && manifest.epsilon == 0.1 && manifest.inputShape == [1, 28, 28])
        let evaluation = try #require(manifest.evaluation)
        #expect(evaluation.pgd20 != nil && evaluation.autoAttack != nil)

        // The engine gives the stated clean accuracy on the stated test images (the first N). The job
        // measured the trained network before export; this runs the exported file, batch norm folded
        // into the convolutions, so rounding may flip at most one borderline example.
        let graph = try ImportedGraph(try ONNXModel(serialized: model))
        let test = try DatasetCatalog().load("fashion-mnist", split: .test).prefix(evaluation.examples)
        let x = Tensor(shape: test.shape, scalars: test.images)
        let logits = try #require(try graph.run([graph.inputNames[0]: x])[graph.outputNames[0]])
        let predictions = logits.argmax(axis: 1)
        let correct = zip(predictions, test.labels).filter { $0 == $1 }.count
        let stated = evaluation.clean * Double(evaluation.examples)
        #expect(abs(Double(correct) - stated) <= 1 + 1e-9, "\(correct) correct, the manifest says \(stated)")
    }

    @Test func rkddStoresItOnTheFirstStart() async throws {
        let directory = try TemporaryDaemonDirectory()
        defer { directory.remove() }
        let settings = ["bundledTeachers": Self.directory.deletingLastPathComponent().path]
        let daemon = try DaemonProcess(settings: settings, directory: directory.url)
        try await daemon.withClient { client in
            let teachers = try await client.listTeachers(.init()).teachers
            let teacher = try #require(teachers.first { $0.name == "fmnist-resnet20-linf" })
            #expect(teacher.source == .bundled)
            let file = try Data(contentsOf: Self.directory.appendingPathComponent("teacher.onnx"))
            #expect(teacher.modelDigest == SHA256.hash(file).hex)
        }
        #expect(daemon.stop() == 0)
    }
}
