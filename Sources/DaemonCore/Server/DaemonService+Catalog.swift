import DaemonAPI
import Datasets
import GRPCCore

/// ListDatasets: the data set catalog, each entry checked for its files on every call (headers only),
/// so a package installed while the daemon runs shows up at once.
extension DaemonService {
    public func listDatasets(
        request: ServerRequest<Rkd_V1_ListDatasetsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_ListDatasetsResponse> {
        var response = Rkd_V1_ListDatasetsResponse()
        response.datasets = self.context.datasets.entries().map(Self.dataset)
        return ServerResponse(message: response)
    }

    static func dataset(_ info: DatasetInfo) -> Rkd_V1_Dataset {
        var dataset = Rkd_V1_Dataset()
        dataset.name = info.name
        dataset.description_p = info.description
        dataset.inputShape = info.exampleShape.map { Int64($0) }
        dataset.classNames = info.classNames
        dataset.trainExamples = UInt64(info.trainExamples)
        dataset.testExamples = UInt64(info.testExamples)
        dataset.available = info.available
        if !info.available {
            // What is missing, then how to get it.
            dataset.installHint = [info.unavailableReason, info.installHint].compactMap { $0 }
                .filter { !$0.isEmpty }.joined(separator: "; ")
        }
        return dataset
    }
}
