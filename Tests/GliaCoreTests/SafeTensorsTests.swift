import Foundation
import GliaCore
import GliaTestSupport
import XCTest

/// File helpers shared by the safetensors and checkpoint tests.
enum SafeTensorsTestFiles {
    /// Builds safetensors bytes by hand: length field, header text, data.
    static func bytes(_ header: String, data: [UInt8], length: UInt64? = nil) -> Data {
        let json = Data(header.utf8)
        var out = Data()
        withUnsafeBytes(of: (length ?? UInt64(json.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(contentsOf: data)
        return out
    }

    /// A fresh empty folder under the temporary directory, removed by the test's teardown block.
    static func folder(for test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glia-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

final class SafeTensorsTests: XCTestCase {
    private func problem(_ header: String, data: [UInt8], length: UInt64? = nil) -> SafeTensorsProblem? {
        do {
            _ = try SafeTensorsFile(data: SafeTensorsTestFiles.bytes(header, data: data, length: length), path: "bad.safetensors")
            return nil
        } catch let error as SafeTensorsError {
            XCTAssertEqual(error.path, "bad.safetensors")
            return error.problem
        } catch {
            XCTFail("unexpected error \(error)")
            return nil
        }
    }

    func testRoundTrip() throws {
        let url = try SafeTensorsTestFiles.folder(for: self).appendingPathComponent("a.safetensors")
        let a = Tensor(shape: [2, 3]) { Float($0) * 0.25 - 1 }
        let b = Tensor(shape: [1], scalars: [42])
        let c = Tensor(shape: [0, 4])
        try SafeTensorsWriter.write([SafeTensorsRecord(name: "z.a", tensor: a),
                                     SafeTensorsRecord(name: "b", tensor: b, dtype: .i64),
                                     SafeTensorsRecord(name: "c", tensor: c)],
                                    metadata: ["config": "{\"depth\": 18}", "note": "ünïcode"], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, ["b", "c", "z.a"])
        XCTAssertEqual(try file.tensor(named: "z.a"), a)
        XCTAssertEqual(try file.tensor(named: "b"), b)
        XCTAssertEqual(try file.tensor(named: "c"), c)
        XCTAssertEqual(file.entries["b"]?.dtype, .i64)
        XCTAssertEqual(file.metadata, ["config": "{\"depth\": 18}", "note": "ünïcode"])
        // The data section starts 8-byte aligned (header padded).
        let bytes = try Data(contentsOf: url)
        let length = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        XCTAssertEqual(length % 8, 0)
        XCTAssertEqual(bytes.count, 8 + Int(length) + 6 * 4 + 8)
        XCTAssertThrowsError(try file.tensor(named: "nope")) {
            XCTAssertEqual(($0 as? SafeTensorsError)?.problem, .missingTensor("nope"))
        }
    }

    func testReadsEachDType() throws {
        // F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), +inf, 0x3555 = 0.333251953125
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, 0x00, 0x7C, 0x55, 0x35]
        // BF16: 1, -5, 3.140625
        let bf16: [UInt8] = [0x80, 0x3F, 0xA0, 0xC0, 0x49, 0x40]
        // I64: -3, 2^40
        var i64: [UInt8] = []
        for v: Int64 in [-3, 1 << 40] { withUnsafeBytes(of: v.littleEndian) { i64 += $0 } }
        var f64: [UInt8] = []
        withUnsafeBytes(of: (0.5 as Double).bitPattern.littleEndian) { f64 += $0 }
        let u8: [UInt8] = [0, 200]
        let header = """
        {"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},
         "b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},
         "i":{"dtype":"I64","shape":[2],"data_offsets":[18,34]},
         "d":{"dtype":"F64","shape":[],"data_offsets":[34,42]},
         "u":{"dtype":"U8","shape":[2],"data_offsets":[42,44]},
         "__metadata__":{"format":"pt"}}
        """
        let file = try SafeTensorsFile(data: SafeTensorsTestFiles.bytes(header, data: f16 + bf16 + i64 + f64 + u8), path: "t")
        let h = try file.tensor(named: "h")
        XCTAssertEqual(h.shape, [2, 3])
        XCTAssertEqual(h.scalars, [1, -2, 65504, 0x1p-24, .infinity, 0.333251953125])
        XCTAssertEqual(try file.tensor(named: "b").scalars, [1, -5, 3.140625])
        XCTAssertEqual(try file.tensor(named: "i").scalars, [-3, 1_099_511_627_776])
        let d = try file.tensor(named: "d")
        XCTAssertEqual(d.shape, [])
        XCTAssertEqual(d.scalars, [0.5])
        XCTAssertEqual(try file.tensor(named: "u").scalars, [0, 200])
        XCTAssertEqual(file.metadata, ["format": "pt"])
    }

    func testRejectsTooShortFile() {
        XCTAssertThrowsError(try SafeTensorsFile(data: Data([1, 2, 3]), path: "x")) {
            XCTAssertEqual(($0 as? SafeTensorsError)?.problem, .tooShort(bytes: 3))
        }
    }

    func testRejectsHugeHeaderLength() {
        XCTAssertEqual(problem("{}", data: [], length: 200_000_000),
                       .headerTooLarge(length: 200_000_000, limit: 100_000_000))
    }

    func testRejectsHeaderLongerThanFile() {
        XCTAssertEqual(problem("{}", data: [], length: 50), .headerBeyondFile(length: 50, available: 2))
    }

    func testRejectsInvalidJSON() {
        guard case .invalidJSON = problem("{\"a\": ", data: []) else { return XCTFail("expected invalidJSON") }
        guard case .invalidJSON = problem("[1, 2]", data: []) else { return XCTFail("expected invalidJSON for an array") }
    }

    func testRejectsMalformedEntry() {
        guard case .invalidEntry(name: "a", _) = problem(#"{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#,
                                                         data: Array(repeating: 0, count: 8))
        else { return XCTFail("expected invalidEntry") }
    }

    func testRejectsOffsetsOutOfRange() {
        XCTAssertEqual(problem(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]),
                       .offsetsOutOfRange(name: "a", begin: 0, end: 8, dataSize: 4))
        XCTAssertEqual(problem(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]),
                       .offsetsOutOfRange(name: "a", begin: 4, end: 0, dataSize: 4))
    }

    func testRejectsOverlap() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        XCTAssertEqual(problem(header, data: Array(repeating: 0, count: 12)), .overlap(name: "b", other: "a"))
    }

    func testRejectsHole() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        XCTAssertEqual(problem(header, data: Array(repeating: 0, count: 12)), .hole(at: 4, before: "b"))
    }

    func testRejectsUnusedTrailingData() {
        XCTAssertEqual(problem(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: Array(repeating: 0, count: 8)),
                       .trailingBytes(covered: 4, dataSize: 8))
    }

    func testRejectsShapeSizeMismatch() {
        XCTAssertEqual(problem(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)),
                       .sizeMismatch(name: "a", shape: [3], dtype: "F32", expected: 12, actual: 8))
        // Same bytes are right for I64 [1] but not F16 [1].
        XCTAssertEqual(problem(#"{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)),
                       .sizeMismatch(name: "a", shape: [1], dtype: "F16", expected: 2, actual: 8))
    }

    func testRejectsUnknownDType() {
        XCTAssertEqual(problem(#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, data: [0]),
                       .unknownDType(name: "a", dtype: "Q4"))
    }

    func testRejectsNonStringMetadata() {
        XCTAssertEqual(problem(#"{"__metadata__":{"epoch":3}}"#, data: []), .invalidMetadata)
        XCTAssertEqual(problem(#"{"__metadata__":"text"}"#, data: []), .invalidMetadata)
    }

    func testErrorNamesTheFileInOneLine() throws {
        let url = try SafeTensorsTestFiles.folder(for: self).appendingPathComponent("broken.safetensors")
        try SafeTensorsTestFiles.bytes(#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, data: [0]).write(to: url)
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: url)) { error in
            let text = (error as? LocalizedError)?.errorDescription ?? ""
            XCTAssert(text.hasPrefix(url.path), text)
            XCTAssert(text.contains("unknown dtype \"Q4\""), text)
            XCTAssertFalse(text.contains("\n"))
        }
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: url.appendingPathExtension("missing"))) {
            guard case .unreadable = ($0 as? SafeTensorsError)?.problem else { return XCTFail("expected unreadable") }
        }
    }

    func testAtomicSaveLeavesOnlyTheFile() throws {
        let folder = try SafeTensorsTestFiles.folder(for: self)
        let url = folder.appendingPathComponent("model.safetensors")
        let t = Tensor(shape: [3], scalars: [1, 2, 3])
        try SafeTensorsWriter.write([SafeTensorsRecord(name: "t", tensor: t)], to: url)
        try SafeTensorsWriter.write([SafeTensorsRecord(name: "t", tensor: t.reshaped([1, 3]))], to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["model.safetensors"])
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).entries["t"]?.shape, [1, 3])
        // A failing write leaves the old file and no temporary file.
        XCTAssertThrowsError(try SafeTensorsWriter.write([SafeTensorsRecord(name: "t", tensor: t, dtype: .f16)], to: url))
        XCTAssertThrowsError(try SafeTensorsWriter.write([SafeTensorsRecord(name: "t", tensor: t),
                                                          SafeTensorsRecord(name: "t", tensor: t)], to: url))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["model.safetensors"])
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).entries["t"]?.shape, [1, 3])
    }

    func testReadsParityFixtures() throws {
        guard let dir = Fixtures.parity else { throw XCTSkip(Fixtures.skipMessage("GLIA_FIXTURES")) }
        let unet = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("resunet.safetensors"))
        XCTAssertEqual(unet.entries.count, 547)
        let x = try unet.tensor(named: "input.x")
        XCTAssertEqual(x.shape, [2, 3, 64, 64])
        XCTAssert(x.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertEqual(unet.entries["stem.bn1.num_batches_tracked"]?.dtype, .i64)
        XCTAssertNotNil(unet.metadata["info"])
        let resnet = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("resnet.safetensors"))
        XCTAssertEqual(resnet.entries.count, 140)
        XCTAssertEqual(try resnet.tensor(named: "input.labels").scalars, [1, 0])
        XCTAssertEqual(resnet.entries["conv1.weight"]?.shape, [64, 3, 7, 7])
    }
}
