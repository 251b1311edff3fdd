import Foundation
import NPY
import Testing

/// The repository root (Tests/NPYTests/NPYTests.swift → ../../..).
private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Runs a Python snippet with the project venv's NumPy (made by `scripts/bootstrap --python`).
private func python(_ script: String, arguments: [String]) throws -> String {
    let interpreter = root.appendingPathComponent(".venv/bin/python")
    try #require(
        FileManager.default.isExecutableFile(atPath: interpreter.path),
        "the project venv is missing: run scripts/bootstrap --python (make test does)"
    )
    let process = Process()
    process.executableURL = interpreter
    process.arguments = ["-c", script] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "python failed: \(script)")
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("NPY files, against NumPy")
struct NPYTests {
    /// NumPy writes arrays of every supported type and shape; we read exactly the values it wrote.
    @Test func readsWhatNumPyWrites() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rkd-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try python(
            """
            import sys, numpy as np
            d = sys.argv[1]
            np.save(d + '/f4.npy', (np.arange(24, dtype=np.float32) * 0.25 - 3).reshape(2, 3, 4))
            np.save(d + '/f8.npy', np.arange(5, dtype=np.float64) / 3)
            np.save(d + '/u1.npy', (np.arange(12) * 21 % 256).astype(np.uint8).reshape(3, 4))
            np.save(d + '/i8.npy', np.array([-(2**40), 0, 7, 2**62], dtype=np.int64))
            np.save(d + '/scalar.npy', np.float32(2.5))
            np.save(d + '/empty.npy', np.zeros((0, 3), dtype=np.float32))
            np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
            np.save(d + '/big.npy', np.ones(3, dtype='>f4'))
            np.save(d + '/i4.npy', np.ones(3, dtype=np.int32))
            """,
            arguments: [directory.path]
        )
        func read(_ name: String) throws -> NPYArray {
            try NPYArray(npy: try Data(contentsOf: directory.appendingPathComponent(name + ".npy")))
        }
        let f4 = try read("f4")
        #expect(f4.shape == [2, 3, 4])
        #expect(f4.elements == .float32((0..<24).map { Float($0) * 0.25 - 3 }))
        #expect(try read("f8").elements == .float64((0..<5).map { Double($0) / 3 }))
        #expect(try read("u1").elements == .uint8((0..<12).map { UInt8($0 * 21 % 256) }))
        #expect(try read("i8").elements == .int64([-(1 << 40), 0, 7, 1 << 62]))
        let scalar = try read("scalar")
        #expect(scalar.shape == [] && scalar.floats == [2.5])
        #expect(try read("empty").shape == [0, 3])
        for (name, hint) in [("fortran", "ascontiguousarray"), ("big", "big-endian"), ("i4", "not supported")] {
            let error = #expect(throws: NPYError.self) { try read(name) }
            #expect(error?.message.contains(hint) == true, "\(name): \(String(describing: error))")
        }
    }

    /// NumPy reads back exactly what we write, for each element type.
    @Test func numPyReadsWhatWeWrite() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rkd-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let arrays: [(String, NPYArray)] = [
            ("f4", try NPYArray(shape: [2, 2], elements: .float32([1.5, -2, 0.1, 1e-30]))),
            ("f8", try NPYArray(shape: [3], elements: .float64([0.1, -1e300, 3]))),
            ("u1", try NPYArray(shape: [1, 1, 3], elements: .uint8([0, 128, 255]))),
            ("i8", try NPYArray(shape: [2], elements: .int64([-5, 1 << 50]))),
            ("scalar", try NPYArray(shape: [], elements: .float32([4]))),
        ]
        for (name, array) in arrays {
            try array.npyData().write(to: directory.appendingPathComponent(name + ".npy"))
        }
        let described = try python(
            """
            import sys, numpy as np
            for name in ['f4', 'f8', 'u1', 'i8', 'scalar']:
                a = np.load(sys.argv[1] + '/' + name + '.npy')
                print(name, a.dtype.str, a.shape, a.flags['C_CONTIGUOUS'], repr(a.ravel().tolist()))
            """,
            arguments: [directory.path]
        )
        #expect(
            described.split(separator: "\n").map(String.init) == [
                "f4 <f4 (2, 2) True [1.5, -2.0, 0.10000000149011612, 1.0000000031710769e-30]",
                "f8 <f8 (3,) True [0.1, -1e+300, 3.0]",
                "u1 |u1 (1, 1, 3) True [0, 128, 255]",
                "i8 <i8 (2,) True [-5, 1125899906842624]",
                "scalar <f4 () True [4.0]",
            ]
        )
        // And our reader agrees with our writer.
        for (_, array) in arrays { #expect(try NPYArray(npy: array.npyData()) == array) }
    }

    @Test func hostileBytesAreClearErrors() throws {
        let good = try NPYArray(shape: [4, 4], elements: .float32(Array(repeating: 1, count: 16))).npyData()
        for cut in [0, 5, 9, 30, good.count - 1] {
            #expect(throws: NPYError.self) { try NPYArray(npy: good.prefix(cut)) }
        }
        var huge = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }\n"
        huge.append(contentsOf: [UInt8(header.utf8.count), 0])
        huge.append(contentsOf: Array(header.utf8))
        let error = #expect(throws: NPYError.self) { try NPYArray(npy: huge) }
        #expect(error?.message.contains("limit") == true)
        #expect(throws: NPYError.self) { try NPYArray(shape: [2, 3], elements: .float32([1])) }
    }
}
