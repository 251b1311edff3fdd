import NN
import TensorEngine
import Testing

@testable import Distillation

@Suite("Layer pairing")
struct LayerPairingTests {
    /// ResNet-20 (stages at 28, 14, 7) and the small CNN (taps after its pools: conv1 at 14, conv2 at 7):
    /// stage1 pairs with conv1 (the teacher's map pooled to 14), stage2 with conv1, stage3 with conv2.
    @Test func resnetTeacherAndSmallCNNStudent() throws {
        let teacher = LayerPairing.maps(of: ResNet20(inputChannels: 1, imageSize: 28, width: 4, seed: 1))
        #expect(teacher.map(\.name) == ["stage1", "stage2", "stage3"], "the pooled features are not a map")
        let student = LayerPairing.maps(of: SmallCNN(seed: 2))
        let pairs = try LayerPairing.automatic(teacher: teacher, student: student)
        #expect(pairs.map(\.teacher.name) == ["stage1", "stage2", "stage3"])
        #expect(student.map(\.name) == ["conv1", "conv2"])
        #expect(pairs.map(\.student.name) == ["conv1", "conv1", "conv2"])
        let features = LayerPairing.featurePairs(pairs, seed: 3)
        #expect(
            features.map { $0.adapter.parameters.map(\.name) }
                == [["adapters.0.weight"], ["adapters.1.weight"], ["adapters.2.weight"]]
        )
        #expect(features[0].adapter.commonSize == (height: 14, width: 14))
        #expect(features[0].adapter.parameters[0].shape == [4, 32, 1, 1])
    }

    /// The same architecture pairs stage with stage and needs no projection.
    @Test func sameArchitecturePairsStageWithStage() throws {
        let maps = LayerPairing.maps(of: ResNet20(inputChannels: 1, imageSize: 28, width: 4, seed: 1))
        let pairs = try LayerPairing.automatic(teacher: maps, student: maps)
        #expect(
            pairs.map { "\($0.teacher.name)=\($0.student.name)" } == [
                "stage1=stage1", "stage2=stage2", "stage3=stage3",
            ]
        )
        #expect(LayerPairing.featurePairs(pairs, seed: 1).allSatisfy { $0.adapter.parameters.isEmpty })
    }

    /// Explicit pairs are checked by name and size.
    @Test func explicitPairsAreChecked() throws {
        let teacher = [
            LayerPairing.Map(name: "a", shape: [4, 28, 28]), LayerPairing.Map(name: "b", shape: [8, 14, 14]),
        ]
        let student = [LayerPairing.Map(name: "x", shape: [3, 10, 10])]
        #expect(throws: LayerPairing.PairingError.self) {
            _ = try LayerPairing.explicit([("a", "x")], teacher: teacher, student: student)
        }
        #expect(throws: LayerPairing.PairingError.self) {
            _ = try LayerPairing.explicit([("c", "x")], teacher: teacher, student: student)
        }
        #expect(throws: LayerPairing.PairingError.self) {
            _ = try LayerPairing.automatic(teacher: teacher, student: student)
        }
    }
}
