import DaemonAPI
import GRPCCore

/// The RPCs whose jobs arrive with later work (the attack suite and audit, teachers, hardening).
/// They answer UNIMPLEMENTED with what is missing, rather than accepting jobs nothing can run.
extension DaemonService {
    static func pending(_ what: String) -> RPCError {
        RPCError(
            code: .unimplemented,
            message: "\(what) is not implemented in rkdd \(DaemonContext.version) yet; "
                + "today the daemon serves UploadModel, InspectModel, Predict and the job RPCs"
        )
    }

    public func submitAudit(
        request: ServerRequest<Rkd_V1_SubmitAuditRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Job> { throw Self.pending("SubmitAudit (robustness audits)") }

    public func submitHarden(
        request: ServerRequest<Rkd_V1_SubmitHardenRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Job> { throw Self.pending("SubmitHarden (Robust-KD hardening)") }

    public func submitTeacherTraining(
        request: ServerRequest<Rkd_V1_SubmitTeacherTrainingRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Job> { throw Self.pending("SubmitTeacherTraining (PGD-AT teachers)") }

    public func getReport(
        request: ServerRequest<Rkd_V1_GetReportRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_GetReportResponse> { throw Self.pending("GetReport (audit reports)") }

    public func listTeachers(
        request: ServerRequest<Rkd_V1_ListTeachersRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_ListTeachersResponse> { throw Self.pending("ListTeachers (teacher store)") }

    public func importTeacher(
        request: ServerRequest<Rkd_V1_ImportTeacherRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_Teacher> { throw Self.pending("ImportTeacher (teacher store)") }

    public func listDatasets(
        request: ServerRequest<Rkd_V1_ListDatasetsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Rkd_V1_ListDatasetsResponse> { throw Self.pending("ListDatasets (data catalog)") }
}
