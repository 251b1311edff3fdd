import Foundation
import Testing

@testable import Jobs

#if canImport(Glibc)
import Glibc
#endif

@Suite struct SHA256Tests {
    /// The examples of FIPS 180-2 appendix B and the empty message.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func standardVectors(message: String, digest: String) {
        #expect(SHA256.hash(Array(message.utf8)).hex == digest)
    }

    @Test func aMillionAs() {
        let digest = SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
        #expect(digest.hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Lengths around the padding boundaries (55, 56, 63, 64 bytes) and arbitrary chunkings agree with
    /// coreutils' sha256sum.
    @Test(arguments: [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4099])
    func agreesWithSha256sumInAnyChunking(length: Int) throws {
        var generator = SplitMix64(seed: UInt64(length))
        let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        var hasher = SHA256()
        var offset = 0
        while offset < bytes.count {
            let size = min(Int(generator.next() % 70), bytes.count - offset)
            hasher.update(Array(bytes[offset..<offset + size]))
            offset += size
        }
        let incremental = hasher.finalize()
        #expect(incremental == SHA256.hash(bytes))
        #expect(incremental.hex == (try sha256sum(bytes)))
    }

    @Test func hexRoundTripsAndRejectsWhatCannotNameAFile() throws {
        let digest = SHA256.hash(Array("abc".utf8))
        #expect(SHA256Digest(hex: digest.hex) == digest)
        #expect(SHA256Digest(hex: digest.hex.uppercased()) == nil)
        #expect(SHA256Digest(hex: String(digest.hex.dropLast())) == nil)
        #expect(SHA256Digest(hex: "../" + String(digest.hex.dropFirst(3))) == nil)
    }

    private func sha256sum(_ bytes: [UInt8]) throws -> String {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.url.appendingPathComponent("input")
        try Data(bytes).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}

/// A small deterministic generator for test bytes.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ArtifactStoreTests {
    private static func files(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    @Test func theSameBytesAreStoredOnce() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ArtifactStore(root: directory.url)
        let model = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let first = try store.storeModel(model)
        let second = try store.storeModel(model)
        #expect(!first.alreadyStored)
        #expect(second.alreadyStored)
        #expect(first.digest == second.digest)
        #expect(first.digest == SHA256.hash(model))
        #expect(first.size == model.count)
        let models = directory.url.appendingPathComponent("models")
        #expect(try Self.files(in: models) == ["\(first.digest.hex).onnx"])
        #expect(try store.readModel(digest: first.digest) == model)
        let other = try store.storeModel(Data([1, 2, 3]))
        #expect(!other.alreadyStored)
        #expect(try Self.files(in: models).count == 2)
    }

    @Test func aChunkedUploadStoresWhatOneWriteWould() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ArtifactStore(root: directory.url)
        let model = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let upload = try store.beginModelUpload(limit: 5000)
        for start in stride(from: 0, to: model.count, by: 1024) {
            try upload.append(model[start..<min(start + 1024, model.count)])
        }
        let stored = try upload.finish(expectedSize: 5000, expectedSHA256: SHA256.hash(model))
        #expect(stored.digest == SHA256.hash(model))
        #expect(try store.readModel(digest: stored.digest) == model)
    }

    @Test func anUploadOverTheLimitStoresNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ArtifactStore(root: directory.url)
        let upload = try store.beginModelUpload(limit: 100)
        try upload.append(Data(count: 60))
        let error = #expect(throws: ArtifactStoreError.self) { try upload.append(Data(count: 41)) }
        #expect(error?.code == .tooLarge)
        #expect(try Self.files(in: directory.url.appendingPathComponent("models")).isEmpty)
        #expect(throws: ArtifactStoreError.self) { try upload.finish() }
    }

    @Test func aDigestOrSizeMismatchStoresNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ArtifactStore(root: directory.url)
        let wrongDigest = try store.beginModelUpload(limit: 100)
        try wrongDigest.append(Data([1, 2, 3]))
        let mismatch = #expect(throws: ArtifactStoreError.self) {
            try wrongDigest.finish(expectedSHA256: SHA256.hash([1, 2, 4]))
        }
        #expect(mismatch?.code == .digestMismatch)
        let wrongSize = try store.beginModelUpload(limit: 100)
        try wrongSize.append(Data([1, 2, 3]))
        #expect(throws: ArtifactStoreError.self) { try wrongSize.finish(expectedSize: 4) }
        #expect(try Self.files(in: directory.url.appendingPathComponent("models")).isEmpty)
    }

    @Test func anAbandonedUploadLeavesNoFileBehind() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ArtifactStore(root: directory.url)
        do {
            let upload = try store.beginModelUpload(limit: 1000)
            try upload.append(Data(count: 10))
            #expect(try Self.files(in: directory.url.appendingPathComponent("models")).count == 1)
        }
        // The upload was dropped without finishing: its temporary file is gone.
        #expect(try Self.files(in: directory.url.appendingPathComponent("models")).isEmpty)
    }

    @Test func writesReplaceWholeFilesAndLeaveNoTemporaryFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ArtifactStore(root: directory.url)
        let location = ArtifactStore.Location.report(jobID: "job-1", name: "report.json")
        let first = try store.write(Data("{\"v\":1}".utf8), to: location)
        #expect(first.relativePath == "reports/job-1/report.json")
        #expect(first.sha256 == SHA256.hash(Array("{\"v\":1}".utf8)))
        try store.write(Data("{\"v\":2}".utf8), to: location)
        #expect(try store.read(location) == Data("{\"v\":2}".utf8))
        #expect(try Self.files(in: directory.url.appendingPathComponent("reports/job-1")) == ["report.json"])
    }

    @Test func leftoverTemporaryFilesAreRemovedOnOpen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ArtifactStore(root: directory.url)
        try store.write(Data([1]), to: .checkpoint(jobID: "job-2", name: "step-100.ckpt"))
        // What a crash between create and rename leaves behind.
        let leftovers = [
            directory.url.appendingPathComponent("models/.tmp-123-456"),
            directory.url.appendingPathComponent("checkpoints/job-2/.tmp-123-789"),
        ]
        for url in leftovers { try Data([0]).write(to: url) }
        let reopened = try ArtifactStore(root: directory.url)
        #expect(reopened.removedTemporaryFiles == 2)
        for url in leftovers { #expect(!FileManager.default.fileExists(atPath: url.path)) }
        #expect(try reopened.read(.checkpoint(jobID: "job-2", name: "step-100.ckpt")) == Data([1]))
        try reopened.removeCheckpoints(jobID: "job-2")
        #expect(try Self.files(in: directory.url.appendingPathComponent("checkpoints")).isEmpty)
    }

    /// A rename that fails (the target is a non-empty directory) reports the error and leaves neither
    /// a temporary file nor a changed target.
    @Test func aFailedRenameCleansUp() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ArtifactStore(root: directory.url)
        let blocker = directory.url.appendingPathComponent("reports/job-3/report.md")
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: true)
        try Data([9]).write(to: blocker.appendingPathComponent("inside"))
        let error = #expect(throws: ArtifactStoreError.self) {
            try store.write(Data("# report".utf8), to: .report(jobID: "job-3", name: "report.md"))
        }
        #expect(error?.errno == EISDIR)
        #expect(try Self.files(in: directory.url.appendingPathComponent("reports/job-3")) == ["report.md"])
        #expect(try Self.files(in: blocker) == ["inside"])
    }

    @Test(arguments: ["", "..", ".hidden", "a/b", "x\u{0}y"])
    func namesThatCouldEscapeTheStateDirectoryAreRefused(name: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ArtifactStore(root: directory.url)
        for location in [
            ArtifactStore.Location.report(jobID: name, name: "r.json"), .report(jobID: "j", name: name),
            .teacher(name: name, file: "teacher.onnx"),
        ] {
            let error = #expect(throws: ArtifactStoreError.self) { try store.write(Data([1]), to: location) }
            #expect(error?.code == .invalidName)
        }
    }

    @Test func fullDisksAndPermissionProblemsSayWhatToDo() {
        let full = ArtifactStoreError(operation: "write", path: "/var/lib/rkd/models/.tmp-1", errno: ENOSPC)
        #expect(full.code == .noSpace)
        #expect(full.message.contains("free space"))
        #expect(full.message.contains("nothing was stored"))
        #expect(ArtifactStoreError(operation: "write", path: "/x", errno: EDQUOT).code == .noSpace)
        let denied = ArtifactStoreError(operation: "create a file in", path: "/var/lib/rkd/models", errno: EACCES)
        #expect(denied.code == .permissionDenied)
        #expect(denied.message.contains("StateDirectory="))
        #expect(ArtifactStoreError(operation: "write", path: "/x", errno: EROFS).code == .permissionDenied)
        #expect(ArtifactStoreError(operation: "write", path: "/x", errno: EIO).code == .io)
    }

    /// A real EACCES from the file system. Root bypasses directory permissions, so this runs only as an
    /// ordinary user.
    @Test(.enabled(if: getuid() != 0, "root is not subject to directory permissions"))
    func aReadOnlyStateDirectoryGivesPermissionDenied() throws {
        let directory = try TemporaryDirectory()
        defer {
            chmod(directory.url.appendingPathComponent("models").path, 0o750)
            directory.remove()
        }
        let store = try ArtifactStore(root: directory.url)
        chmod(directory.url.appendingPathComponent("models").path, 0o500)
        let error = #expect(throws: ArtifactStoreError.self) { try store.storeModel(Data([1])) }
        #expect(error?.code == .permissionDenied)
    }

    /// A real ENOSPC: /dev/full refuses every write with it. The write path turns it into `noSpace` and
    /// deletes its temporary file.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func writingToAFullDeviceGivesNoSpaceAndCleansUp() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let temporary = directory.url.appendingPathComponent(".tmp-full")
        try Data().write(to: temporary)
        let descriptor = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(descriptor >= 0)
        let file = DurableFile(directory: directory.url, temporaryURL: temporary, descriptor: descriptor)
        let error = #expect(throws: ArtifactStoreError.self) { try file.write(Data(repeating: 1, count: 4096)) }
        #expect(error?.code == .noSpace)
        #expect(error?.errno == ENOSPC)
        #expect(!FileManager.default.fileExists(atPath: temporary.path))
    }
}
