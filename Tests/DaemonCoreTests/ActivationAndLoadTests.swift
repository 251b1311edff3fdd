import DaemonAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc
import Jobs
import Testing

@Suite("rkdd under socket activation and under load", .serialized)
struct ActivationAndLoadTests {
    /// systemd-socket-activate listens, starts rkdd on the first connection and hands it fd 3; the
    /// first client is served, and the daemon announces READY and STOPPING to the notify socket.
    @Test func socketActivation() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rkdd-act-\(UUID().uuidString.prefix(8))"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let notify = try NotifyListener(directory: directory)
        let socketPath = directory.appendingPathComponent("act.sock").path
        let activator = Process()
        activator.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        activator.arguments = [
            "-l", socketPath, "-E", "NOTIFY_SOCKET=\(notify.path)", "-E", "RKD_THREADS=1",
            try productsDirectory().appendingPathComponent("rkdd").path,
            "--socket", directory.appendingPathComponent("unused.sock").path,
            "--state-directory", directory.appendingPathComponent("state").path,
        ]
        let log = Pipe()
        activator.standardError = log
        try activator.run()
        defer {
            if activator.isRunning {
                activator.terminate()
                activator.waitUntilExit()
            }
        }
        // Wait for the activator to listen.
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socketPath) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let version = try await withGRPCClient(
            transport: .http2NIOPosix(target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
        ) { grpc in
            try await Rkd_V1_Daemon.Client(wrapping: grpc).getVersion(Rkd_V1_GetVersionRequest())
        }
        #expect(version.apiVersion == "rkd.v1")
        let messages = try #require(notify.wait(for: "READY=1", seconds: 10))
        #expect(messages.last?.contains("STATUS=serving on") == true)
        // The daemon adopted the activator's socket and did not bind its own.
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("unused.sock").path))
        // systemd-socket-activate execs rkdd in its own process: SIGTERM reaches the daemon.
        activator.terminate()
        activator.waitUntilExit()
        #expect(activator.terminationStatus == 0)
        #expect(notify.wait(for: "STOPPING=1", seconds: 5) != nil)
    }

    /// 50 concurrent clients, each uploading, inspecting, cancelling and watching a job for a few
    /// rounds, twice over: no RPC fails, and after the second load the daemon holds no more file
    /// descriptors than after the first (the first grows the database's reader pool, up to its cap).
    @Test func fiftyConcurrentClients() async throws {
        let daemon = try DaemonProcess(executable: fixtureDaemon)  // leaves the hardening jobs queued
        let model = try testData("pytorch-converted/test_Linear/model.onnx")
        let store = try JobStore(
            directory: daemon.stateDirectory,
            configuration: JobStore.Configuration(maxQueuedJobs: 1000)
        )
        let spec = AccessSupport.queuedSpec
        func openDescriptors() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.process.processIdentifier)/fd").count
        }
        let rounds = 3
        func load() async throws -> Int {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for client in 0..<50 {
                    let jobs = try await (0..<rounds).asyncMap { _ in
                        try await store.submit(JobSubmission(ownerUID: getuid(), spec: spec)).job.id
                    }
                    group.addTask {
                        var failed = 0
                        try await daemon.withClient { rkd in
                            for round in 0..<rounds {
                                do {
                                    let stored = try await rkd.uploadModel(
                                        requestProducer: { writer in
                                            var part = Rkd_V1_UploadModelRequest()
                                            part.chunk = model
                                            try await writer.write(part)
                                        }
                                    )
                                    var inspect = Rkd_V1_InspectModelRequest()
                                    inspect.modelDigest = stored.digest
                                    _ = try await rkd.inspectModel(inspect)
                                    var cancel = Rkd_V1_CancelJobRequest()
                                    cancel.jobID = jobs[round]
                                    _ = try await rkd.cancelJob(cancel)
                                    var watch = Rkd_V1_WatchJobRequest()
                                    watch.jobID = jobs[round]
                                    let last = try await rkd.watchJob(watch) { response in
                                        var last: Rkd_V1_JobState = .unspecified
                                        for try await event in response.messages {
                                            if case .stateChange(let change) = event.event { last = change.toState }
                                        }
                                        return last
                                    }
                                    if last != .cancelled { failed += 1 }
                                } catch {
                                    failed += 1
                                    print("client \(client) round \(round): \(error)")
                                }
                            }
                        }
                        return failed
                    }
                }
                return try await group.reduce(0, +)
            }
        }
        #expect(try await load() == 0)
        try await Task.sleep(for: .milliseconds(500))
        let afterFirst = try openDescriptors()
        #expect(try await load() == 0)
        try await Task.sleep(for: .milliseconds(500))
        let afterSecond = try openDescriptors()
        #expect(
            afterSecond <= afterFirst,
            "descriptors after the first load \(afterFirst), after the second \(afterSecond)"
        )
        #expect(daemon.stop() == 0)
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
