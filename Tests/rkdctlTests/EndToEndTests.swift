import Foundation
import Glibc
import NPY
import Testing

/// rkdd started as a child process on a temporary socket and state directory.
final class RealDaemon: @unchecked Sendable {
    let directory: URL
    let socket: String
    let process = Process()

    init() async throws {
        directory = try makeTemporaryDirectory()
        socket = directory.appendingPathComponent("rkd.sock").path
        let executable = Products.executable("rkdd")
        try #require(
            FileManager.default.isExecutableFile(atPath: executable.path),
            "no rkdd at \(executable.path): `swift build --build-tests` builds it"
        )
        process.executableURL = executable
        process.arguments = ["--socket", socket, "--state-directory", directory.appendingPathComponent("state").path]
        var environment = ProcessInfo.processInfo.environment
        environment["RKD_THREADS"] = "1"
        environment["NOTIFY_SOCKET"] = nil
        process.environment = environment
        let log = directory.appendingPathComponent("rkdd.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try await waitUntilAccepting(socket, seconds: 30, log: log.path)
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Polls connect(2) on `socket` until something accepts, for at most `seconds`.
func waitUntilAccepting(_ socket: String, seconds: Double, log: String) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if connectsTo(socket) { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    Issue.record("nothing accepted connections on \(socket) within \(seconds) s; log:\n\(text)")
    throw TensorFileError("daemon did not start")
}

/// Linux's `struct ucred` (a GNU extension Swift's Glibc module does not import), as SO_PEERCRED fills it.
struct PeerCredentials {
    var pid: pid_t = 0
    var uid: uid_t = 0
    var gid: gid_t = 0
}

/// Whether a connection to the Unix socket `path` is accepted; with `peer`, the accepting process's pid
/// (SO_PEERCRED).
func connectsTo(_ path: String, peer: UnsafeMutablePointer<pid_t>? = nil) -> Bool {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard connected == 0 else { return false }
    if let peer {
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return false }
        peer.pointee = credentials.pid
    }
    return true
}

/// The built rkdctl against the built rkdd, on ONNX's own test models.
@Suite("rkdctl against rkdd", .serialized)
struct EndToEndTests {
    static let testData = "/usr/share/libonnx-testdata/data/pytorch-converted/"
    static let conv2d = testData + "test_Conv2d/model.onnx"
    static let linear = testData + "test_Linear/model.onnx"

    /// Runs `body` with a fresh daemon and a function that runs rkdctl against it.
    private func withDaemon(
        _ body: (RealDaemon, _ rkdctl: ([String]) async throws -> CommandResult) async throws -> Void
    ) async throws {
        let daemon = try await RealDaemon()
        defer { daemon.stop() }
        try await body(daemon) { arguments in try await run(arguments + ["--socket", daemon.socket]) }
    }

    private func json(_ result: CommandResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    }

    @Test func versionAndJobs() async throws {
        try await withDaemon { daemon, rkdctl in
            let version = try await rkdctl(["version"])
            #expect(version.status == 0, "\(version.standardError)")
            let lines = version.standardOutput.split(separator: "\n")
            #expect(lines.first == "rkdctl 0.1.0")
            #expect(lines.last?.hasPrefix("rkdd   0.1.0 (api rkd.v1, ") == true)
            #expect(lines.last?.hasSuffix(" at \(daemon.socket)") == true)
            #expect(
                ((try json(await rkdctl(["version", "--json"])))["daemon"] as? [String: Any])?["api_version"] as? String
                    == "rkd.v1"
            )

            let list = try await rkdctl(["jobs", "list"])
            #expect(list.status == 0, "\(list.standardError)")
            #expect(list.standardOutput == "no jobs\n")
            let listJSON = try json(await rkdctl(["jobs", "list", "--json"]))
            #expect((listJSON["jobs"] as? [Any])?.isEmpty == true)
            #expect(listJSON["truncated"] as? Bool == false)

            let unknown = try await rkdctl(["jobs", "show", UUID().uuidString.lowercased()])
            #expect(unknown.status == 5, "\(unknown.standardError)")
            let watch = try await rkdctl(["jobs", "watch", UUID().uuidString.lowercased()])
            #expect(watch.status == 5, "\(watch.standardError)")
        }
    }

    @Test func inspectConv2d() async throws {
        try await withDaemon { _, rkdctl in
            let first = try await rkdctl(["inspect", Self.conv2d])
            #expect(first.status == 0, "\(first.standardError)")
            let digest = try sha256(Self.conv2d)
            let lines = first.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first == "\(Self.conv2d): 593 bytes, stored as sha256 \(digest)")
            #expect(lines.contains("ONNX checker: valid"))
            #expect(lines.contains("  0  float  [2, 3, 7, 5]"), "the input of test_data_set_0/input_0.pb")
            #expect(lines.contains("  3  float  [2, 4, 5, 4]"))
            #expect(lines.contains("  Conv  ×1  supported"))
            #expect(lines.contains("parameters: 76"), "weights 4×3×3×2 and bias 4")
            #expect(lines.contains("rkd can run every node."))

            let again = try json(await rkdctl(["inspect", Self.conv2d, "--json"]))
            #expect(again["already_stored"] as? Bool == true)
            #expect(again["digest"] as? String == digest)
            #expect(again["parameter_count"] as? Int == 76)
            let input = try #require((again["inputs"] as? [[String: Any]])?.first)
            #expect(input["shape"] as? [Int] == [2, 3, 7, 5])
        }
    }

    /// The convolution's output is not (batch, classes): the daemon refuses it as invalid input (6).
    @Test func predictRefusesANonClassifier() async throws {
        try await withDaemon { daemon, rkdctl in
            let input = try ONNXTestTensor(contentsOf: Self.testData + "test_Conv2d/test_data_set_0/input_0.pb")
            #expect(input.dims == [2, 3, 7, 5])
            let x = daemon.directory.appendingPathComponent("x.npy")
            try NPYArray(shape: input.dims, elements: .float32(input.values)).npyData().write(to: x)
            let output = daemon.directory.appendingPathComponent("out.npy").path
            let result = try await rkdctl(["predict", Self.conv2d, "--input", x.path, "--output", output])
            #expect(result.status == 6, "\(result.standardError)")
            #expect(result.standardError.hasPrefix("rkdctl: "))
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    /// test_Linear (Gemm, 10 → 8) on ONNX's input: the written logits match ONNX's reference output, the
    /// predictions are their arg-max, the loss is their summed cross-entropy, and the input gradient
    /// matches a central finite difference of that loss.
    @Test func predictLinear() async throws {
        try await withDaemon { daemon, rkdctl in
            let input = try ONNXTestTensor(contentsOf: Self.testData + "test_Linear/test_data_set_0/input_0.pb")
            let reference = try ONNXTestTensor(contentsOf: Self.testData + "test_Linear/test_data_set_0/output_0.pb")
            #expect(input.dims == [4, 10])
            let file = { (name: String) in daemon.directory.appendingPathComponent(name).path }
            try NPYArray(shape: input.dims, elements: .float32(input.values)).npyData()
                .write(to: URL(fileURLWithPath: file("x.npy")))
            let labels: [Int64] = [0, 3, 5, 7]
            try NPYArray(shape: [4], elements: .int64(labels)).npyData().write(to: URL(fileURLWithPath: file("y.npy")))

            let result = try await rkdctl([
                "predict", Self.linear, "--input", file("x.npy"), "--labels", file("y.npy"),
                "--output", file("logits.npy"), "--input-gradient", file("g.npy"), "--json",
            ])
            #expect(result.status == 0, "\(result.standardError)")
            let answer = try json(result)

            let logits = try NPYArray(npy: try Data(contentsOf: URL(fileURLWithPath: file("logits.npy"))))
            #expect(logits.shape == [4, 8])
            for (got, want) in zip(logits.floats, reference.values) {
                #expect(abs(got - want) <= 1e-5 + 1e-5 * abs(want), "logits differ from ONNX's output_0.pb")
            }
            let rows = (0..<4).map { Array(logits.floats[($0 * 8)..<($0 * 8 + 8)]).map(Double.init) }
            let argmax = rows.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
            #expect(answer["predictions"] as? [Int] == argmax)
            let loss = try #require(answer["loss"] as? Double)
            #expect(abs(loss - crossEntropy(rows, labels)) <= 1e-4 * max(1, loss))

            let gradient = try NPYArray(npy: try Data(contentsOf: URL(fileURLWithPath: file("g.npy"))))
            #expect(gradient.shape == [4, 10])
            let g = gradient.floats
            let index = try #require(g.indices.max { abs(g[$0]) < abs(g[$1]) })
            var losses: [Double] = []
            for step in [Float(0.01), -0.01] {
                var shifted = input.values
                shifted[index] += step
                try NPYArray(shape: [4, 10], elements: .float32(shifted)).npyData()
                    .write(to: URL(fileURLWithPath: file("x2.npy")))
                let shiftedResult = try await rkdctl([
                    "predict", Self.linear, "--input", file("x2.npy"), "--labels", file("y.npy"),
                    "--output", file("l2.npy"), "--json",
                ])
                losses.append(try #require(try json(shiftedResult)["loss"] as? Double))
            }
            let difference = (losses[0] - losses[1]) / 0.02
            #expect(abs(difference - Double(g[index])) <= 2e-2 * max(1, abs(difference)))
        }
    }

    /// Neither --socket nor RKD_SOCKET, and no system daemon: rkdctl starts `rkdd --user` (the one built
    /// beside it) in the background and uses it; the next rkdctl finds it running.
    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/run/rkd/rkd.sock"), "a system rkdd is installed"))
    func autostartsAPerUserDaemon() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = [
            "XDG_RUNTIME_DIR": directory.appendingPathComponent("run").path,
            "XDG_STATE_HOME": directory.appendingPathComponent("state").path,
            "RKD_THREADS": "1",
        ]
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("run"),
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let socket = directory.appendingPathComponent("run/rkd/rkd.sock").path
        let log = directory.appendingPathComponent("state/rkd/rkdd.log").path
        let first = try await run(["version"], environment: environment)
        defer {
            // Stop the daemon rkdctl started (found by its socket's peer credentials), then wait until
            // it no longer accepts connections.
            var daemon: pid_t = 0
            if connectsTo(socket, peer: &daemon), daemon > 0, kill(daemon, SIGTERM) == 0 {
                let deadline = Date().addingTimeInterval(10)
                while connectsTo(socket) && Date() < deadline { usleep(50_000) }
            }
        }
        #expect(first.status == 0, "\(first.standardError)")
        #expect(
            first.standardError
                == "rkdctl: no daemon at /run/rkd/rkd.sock; starting a per-user rkdd (socket \(socket), log \(log))\n"
        )
        #expect(first.standardOutput.hasSuffix(" at \(socket)\n"))
        let second = try await run(["jobs", "list"], environment: environment)
        #expect(second.status == 0, "\(second.standardError)")
        #expect(second.standardError.isEmpty, "the second rkdctl uses the running daemon")
        #expect(second.standardOutput == "no jobs\n")
        let logText = try String(contentsOfFile: log, encoding: .utf8)
        #expect(logText.contains("mode=user"), "\(logText)")
    }
}

/// Σ over rows of −log softmax(row)[label], in Double.
func crossEntropy(_ rows: [[Double]], _ labels: [Int64]) -> Double {
    zip(rows, labels).reduce(0) { sum, pair in
        let (row, label) = pair
        let top = row.max() ?? 0
        let logSum = log(row.reduce(0) { $0 + exp($1 - top) }) + top
        return sum + logSum - row[Int(label)]
    }
}

/// sha256sum's answer for a file.
func sha256(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(String(decoding: output, as: UTF8.self).prefix(64))
}
