import DaemonAPI
import Datasets
import Foundation
import GRPCCore
import Testing

@testable import DaemonCore

/// ListDatasets over the real socket: the built-in catalog's Fashion-MNIST, read from Debian's
/// dataset-fashion-mnist (which `scripts/bootstrap` installs), with its published sizes and classes.
@Suite("ListDatasets", .serialized)
struct DatasetServiceTests {
    @Test func fashionMNISTIsListedWithItsFiles() async throws {
        let daemon = try DaemonProcess()
        let response = try await daemon.withClient { client in
            try await client.listDatasets(Rkd_V1_ListDatasetsRequest())
        }
        let fashion = try #require(response.datasets.first { $0.name == "fashion-mnist" }, "\(response)")
        #expect(fashion.inputShape == [1, 28, 28])
        #expect(fashion.classNames.count == 10)
        #expect(fashion.classNames.first == "T-shirt/top")
        #expect(!fashion.description_p.isEmpty)
        // The package is installed by scripts/bootstrap; when it is, the counts come from the files.
        #expect(fashion.available, "install_hint: \(fashion.installHint)")
        #expect(fashion.installHint.isEmpty)
        #expect(fashion.trainExamples == 60_000)
        #expect(fashion.testExamples == 10_000)
    }

    /// A data set whose files are missing is listed as unavailable with what is missing and how to
    /// get it (the mapping of the catalog's entry).
    @Test func unavailableEntryCarriesTheInstallHint() {
        let entry = DaemonService.dataset(
            DatasetInfo(
                name: "cifar-10",
                description: "CIFAR-10",
                exampleShape: [3, 32, 32],
                classNames: ["airplane"],
                trainExamples: 50_000,
                testExamples: 10_000,
                available: false,
                unavailableReason: "data_batch_1.bin is missing",
                installHint: "download cifar-10-binary.tar.gz"
            )
        )
        #expect(!entry.available)
        #expect(entry.installHint == "data_batch_1.bin is missing; download cifar-10-binary.tar.gz")
        #expect(entry.inputShape == [3, 32, 32])
    }
}
