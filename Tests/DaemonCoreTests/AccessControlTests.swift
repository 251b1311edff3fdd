import DaemonAPI
import Foundation
import GRPCCore
import Glibc
import Jobs
import Testing

/// A grpcio client for the checks rkdctl cannot make: it sends whatever `x-rkd-peer-*` metadata it is
/// told to claim and prints the call's status as JSON. Messages are encoded by hand (a few
/// length-delimited and varint fields), so no stubs are generated.
private let grpcioClient = """
    import json, sys
    import grpc

    def varint(n):
        out = bytearray()
        while True:
            low, n = n & 0x7F, n >> 7
            if n:
                out.append(low | 0x80)
            else:
                out.append(low)
                return bytes(out)

    def text(number, value):
        data = value.encode()
        return varint(number << 3 | 2) + varint(len(data)) + data

    socket_path, method, claim = sys.argv[1:4]
    args = sys.argv[4:]
    metadata = []
    if claim != "-":
        metadata = [("x-rkd-peer-uid", claim), ("x-rkd-peer-gid", claim), ("x-rkd-peer-pid", "1")]
    with grpc.insecure_channel("unix://" + socket_path) as channel:
        try:
            if method == "CancelJob":
                call = channel.unary_unary("/rkd.v1.Daemon/CancelJob")
                reply = call(text(1, args[0]), metadata=metadata, timeout=10)
            elif method == "ListJobs":
                call = channel.unary_unary("/rkd.v1.Daemon/ListJobs")
                reply = call(varint(3 << 3) + varint(int(args[0])), metadata=metadata, timeout=10)
            elif method == "DownloadArtifact":
                call = channel.unary_stream("/rkd.v1.Daemon/DownloadArtifact")
                reply = b"".join(call(text(1, args[0]) + text(2, args[1]), metadata=metadata, timeout=10))
            else:
                raise SystemExit("unknown method " + method)
            print(json.dumps({"code": "OK", "reply": reply.decode("latin-1")}))
        except grpc.RpcError as error:
            print(json.dumps({"code": error.code().name, "details": error.details()}))
    """

/// Issue 4's access rules, end to end over the daemon's real socket: the socket is 0660 (only its
/// group gets in), every call is identified by SO_PEERCRED and nothing a client sends can claim
/// another uid, and only a job's owner or root may cancel it or read its artifacts. Clients run as
/// `nobody` (uid/gid 65534, no supplementary groups) through setpriv; the test process is root.
@Suite(
    "Access control over the socket, clients as nobody",
    .serialized,
    .enabled(if: AccessSupport.canSwitchUsers, "needs root and setpriv (util-linux) to run clients as uid 65534")
)
struct AccessControlTests {
    /// A root-owned and a nobody-owned queued job, stored before the daemon starts, and the daemon.
    struct Fixture {
        let daemon: DaemonProcess
        let rootJob: String
        let nobodysJob: String
        static let artifactText = "root's report: not for uid 65534"

        init(prefix: String) async throws {
            let directory = try AccessSupport.sharedDirectory(prefix)
            let state = directory.appendingPathComponent("state")
            do {
                let store = try JobStore(directory: state)
                // As the daemon would have made it: root's alone.
                try #require(chmod(state.path, 0o700) == 0)
                rootJob = try await store.submit(JobSubmission(ownerUID: 0, spec: AccessSupport.queuedSpec)).job.id
                nobodysJob = try await store.submit(
                    JobSubmission(ownerUID: AccessSupport.nobody, spec: AccessSupport.queuedSpec)
                ).job.id
                // Something root's job produced, for DownloadArtifact.
                let stored = try ArtifactStore(root: state).write(
                    Data(Self.artifactText.utf8),
                    to: .report(jobID: rootJob, name: "report.txt")
                )
                try await store.recordArtifact(
                    jobID: rootJob,
                    JobArtifact(
                        name: "report.txt",
                        relativePath: stored.relativePath,
                        size: stored.size,
                        sha256: stored.sha256.hex,
                        mediaType: "text/plain"
                    )
                )
            }  // The store is closed here; the daemon opens it next.
            // The fixture daemon (rkdd's start-up and server, audit executor only) leaves the
            // hardening jobs above queued.
            daemon = try DaemonProcess(executable: fixtureDaemon, directory: directory)
        }

        var socket: String { daemon.socketPath }

        /// Stops the daemon if it still runs and deletes its directory (the socket, the state, the
        /// copied rkdctl).
        func removeDirectory() {
            daemon.kill()
            try? FileManager.default.removeItem(at: daemon.directory)
        }

        /// Lets uid 65534 connect the way a member of group rkd would: the socket keeps the mode
        /// 0660 the daemon gave it, its group becomes nogroup (65534), nobody's primary group.
        func admitNobody() throws {
            try #require(chown(socket, 0, AccessSupport.nobody) == 0, "chown \(socket): errno \(errno)")
        }

        /// The job as root reads it over the socket.
        func job(_ id: String) async throws -> Rkd_V1_Job {
            var request = Rkd_V1_GetJobRequest()
            request.jobID = id
            return try await daemon.withClient { [request] client in try await client.getJob(request) }
        }

        /// Whether no cancellation reached the job (it stays queued while rkdd has no executor for
        /// audits; compared this way, the check holds once one runs it).
        func untouched(_ id: String) async throws -> Bool {
            let job = try await job(id)
            return job.state != .cancelled && !job.cancelRequested
        }
    }

    /// rkdctl as nobody: refused by the socket's mode until nobody is in its group; then refused on
    /// root's job (exit 4, PERMISSION_DENIED named) while its own job cancels; listings show it only its
    /// own jobs, while root sees and cancels every job.
    @Test func rkdctlAsNobody() async throws {
        let fixture = try await Fixture(prefix: "rkd-acl")
        defer { fixture.removeDirectory() }
        let rkdctl = try AccessSupport.installRkdctl(in: fixture.daemon.directory)
        let socket = fixture.socket
        func rkdctlAsNobody(_ arguments: [String]) async throws -> AccessSupport.Result {
            try await AccessSupport.run(rkdctl, arguments + ["--socket", socket, "--no-autostart"], asNobody: true)
        }

        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o660, "the system daemon's socket is 0660")
        #expect((attributes[.ownerAccountID] as? NSNumber)?.intValue == 0)
        #expect((attributes[.groupOwnerAccountID] as? NSNumber)?.intValue == 0)

        // Neither the owner nor in the group: connect(2) fails with EACCES.
        let outsider = try await rkdctlAsNobody(["jobs", "list"])
        #expect(outsider.status == 4, "\(outsider)")
        #expect(outsider.standardError.contains("permission denied on \(socket)"), "\(outsider)")

        try fixture.admitNobody()

        let denied = try await rkdctlAsNobody(["jobs", "cancel", fixture.rootJob])
        #expect(denied.status == 4, "\(denied)")
        #expect(denied.standardError.contains("permission denied"), "\(denied)")
        #expect(denied.standardError.contains("uid 65534 may not cancel it"), "\(denied)")
        #expect(try await fixture.untouched(fixture.rootJob))

        // The job's record is not secret (GetJob has no owner rule in rkd/v1/daemon.proto).
        let shown = try await rkdctlAsNobody(["jobs", "show", fixture.rootJob, "--json"])
        #expect(shown.status == 0, "\(shown)")
        let shownJob = try JSONSerialization.jsonObject(with: Data(shown.standardOutput.utf8)) as? [String: Any]
        #expect(shownJob?["id"] as? String == fixture.rootJob)
        #expect(shownJob?["state"] as? String != "cancelled")

        // "Root sees every user's jobs, others their own" (rkdctl jobs list --help, ListJobsRequest).
        let listed = try await rkdctlAsNobody(["jobs", "list", "--json"])
        #expect(listed.status == 0, "\(listed)")
        let listing = try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [String: Any]
        let listedIDs = (listing?["jobs"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(listedIDs == [fixture.nobodysJob], "\(listed)")

        let own = try await rkdctlAsNobody(["jobs", "cancel", fixture.nobodysJob])
        #expect(own.status == 0, "\(own)")
        #expect(own.standardOutput.contains("job \(fixture.nobodysJob): cancelled"), "\(own)")

        // Root, the test process itself, sees both jobs and may cancel anyone's.
        try await fixture.daemon.withClient { client in
            let all = try await client.listJobs(Rkd_V1_ListJobsRequest())
            #expect(Set(all.jobs.map(\.id)) == [fixture.rootJob, fixture.nobodysJob])
            var cancel = Rkd_V1_CancelJobRequest()
            cancel.jobID = fixture.rootJob
            let cancelled = try await client.cancelJob(cancel)
            #expect(cancelled.state == .cancelled)
        }
        #expect(fixture.daemon.stop() == 0)
    }

    /// A client as nobody that claims uid 0 in the credential metadata is still uid 65534 to the
    /// daemon: CancelJob, DownloadArtifact and a listing of root's jobs are PERMISSION_DENIED and the
    /// message names uid 65534. Root claiming to be 65534 is still root. The same client without a
    /// claim shows that the denials come from ownership, not from a broken client.
    @Test func claimedCredentialsAreReplacedByTheKernels() async throws {
        let python = repositoryRoot.appendingPathComponent(".venv/bin/python").path
        try #require(
            FileManager.default.isExecutableFile(atPath: python),
            "no \(python): run `scripts/bootstrap --python` (it installs grpcio into .venv)"
        )
        let fixture = try await Fixture(prefix: "rkd-spoof")
        defer { fixture.removeDirectory() }
        let script = fixture.daemon.directory.appendingPathComponent("client.py")
        try Data(grpcioClient.utf8).write(to: script)
        try #require(chmod(script.path, 0o644) == 0)
        try fixture.admitNobody()
        func call(
            _ method: String,
            claiming claim: String,
            _ arguments: [String],
            asNobody: Bool
        ) async throws
            -> (code: String, text: String)
        {
            let result = try await AccessSupport.run(
                python,
                [script.path, fixture.socket, method, claim] + arguments,
                asNobody: asNobody
            )
            let line = result.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
            let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            let code = try #require(json?["code"], "the grpcio client printed no status: \(result)")
            return (code, json?["details"] ?? json?["reply"] ?? "")
        }
        let root = fixture.rootJob
        let artifact = ["report.txt"]

        let cancel = try await call("CancelJob", claiming: "0", [root], asNobody: true)
        #expect(cancel.code == "PERMISSION_DENIED", "\(cancel)")
        #expect(cancel.text.contains("uid 65534 may not cancel it"), "\(cancel)")
        let download = try await call("DownloadArtifact", claiming: "0", [root] + artifact, asNobody: true)
        #expect(download.code == "PERMISSION_DENIED", "\(download)")
        #expect(download.text.contains("uid 65534 may not read its artifacts"), "\(download)")
        #expect(!download.text.contains(Fixture.artifactText))
        let list = try await call("ListJobs", claiming: "0", ["0"], asNobody: true)
        #expect(list.code == "PERMISSION_DENIED", "\(list)")
        #expect(list.text.contains("uid 65534 may not list the jobs of uid 0"), "\(list)")
        #expect(try await fixture.untouched(root))

        // Without a claim the same client is refused the same way, and served where nobody may be.
        let plain = try await call("CancelJob", claiming: "-", [root], asNobody: true)
        #expect(plain.code == "PERMISSION_DENIED", "\(plain)")
        let ownListing = try await call("ListJobs", claiming: "-", ["65534"], asNobody: true)
        #expect(ownListing.code == "OK", "\(ownListing)")
        #expect(ownListing.text.contains(fixture.nobodysJob) && !ownListing.text.contains(root))

        // The kernel's uid also wins the other way round: root claiming 65534 reads and cancels.
        let rootDownload = try await call("DownloadArtifact", claiming: "65534", [root] + artifact, asNobody: false)
        #expect(rootDownload.code == "OK", "\(rootDownload)")
        #expect(rootDownload.text.contains(Fixture.artifactText))
        let rootCancel = try await call("CancelJob", claiming: "65534", [root], asNobody: false)
        #expect(rootCancel.code == "OK", "\(rootCancel)")
        #expect(try await fixture.job(root).state == .cancelled)
        #expect(fixture.daemon.stop() == 0)
    }
}
