// The damaged-file generator of the fault tests: hand-made TIFF bytes with hostile headers, and
// safetensors files whose header is rewritten (dtypes, metadata) or whose values are damaged, so each
// test states the one fault it plants.
import Foundation
import GliaCore
import XCTest

/// Builders of damaged and crafted input files in a scratch folder.
struct FaultFiles {
    let folder: URL

    /// A fresh scratch folder, removed by `remove()`.
    static func make() throws -> FaultFiles {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glia-faults-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return FaultFiles(folder: url)
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// A little-endian TIFF of one 8-bit gray `width` x `height` image in one tile of the declared
    /// size, with 32 bytes of pixel data: small enough to read, whatever the tile size claims.
    func tiledTIFF(_ name: String, width: UInt32, height: UInt32, tileWidth: UInt32, tileHeight: UInt32) throws -> URL {
        // (tag, type, value); type 3 = SHORT, 4 = LONG. Entries sorted by tag, as TIFF requires.
        let dataOffset: UInt32 = 8 + 2 + 10 * 12 + 4
        let entries: [(UInt16, UInt16, UInt32)] = [
            (256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (277, 3, 1),
            (322, 4, tileWidth), (323, 4, tileHeight), (324, 4, dataOffset), (325, 4, 32),
        ]
        var bytes: [UInt8] = [0x49, 0x49, 42, 0]
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        put(UInt32(8))
        put(UInt16(entries.count))
        for (tag, type, value) in entries {
            put(tag)
            put(type)
            put(UInt32(1))
            if type == 3 { put(UInt16(value)); put(UInt16(0)) } else { put(value) }
        }
        put(UInt32(0))
        bytes.append(contentsOf: [UInt8](repeating: 7, count: 32))
        let url = self.url(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Overwrites `url` with a 256x256 RGB slice whose header reads but whose one strip lies past
    /// the end of the file: a slice cut short after its directory ("cannot decode strip 0").
    static func truncateSlice(at url: URL) throws {
        let entries: [(UInt16, UInt16, UInt32, UInt32)] = [  // tag, type, count, value
            (256, 4, 1, 256), (257, 4, 1, 256), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 2),
            (273, 4, 1, 1_000_000), (277, 3, 1, 3), (278, 4, 1, 256), (279, 4, 1, 256 * 256 * 3),
        ]
        var bytes: [UInt8] = [0x49, 0x49, 42, 0]
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        put(UInt32(8))
        put(UInt16(entries.count))
        for (tag, type, count, value) in entries {
            put(tag)
            put(type)
            put(count)
            if type == 3 { put(UInt16(value)); put(UInt16(0)) } else { put(value) }
        }
        put(UInt32(0))
        try Data(bytes).write(to: url)
    }

    /// Rewrites the JSON header of the safetensors file at `source` into `name`, keeping the data
    /// section byte for byte (retyping a tensor, replacing metadata).
    func rewritingHeader(of source: URL, to name: String,
                         _ change: (inout [String: Any]) throws -> Void) throws -> URL {
        let data = try Data(contentsOf: source)
        let length = Int(data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        var header = try XCTUnwrap(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
        try change(&header)
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(data.subdata(in: (8 + length)..<data.count))
        let url = self.url(name)
        try out.write(to: url)
        return url
    }

    /// `source` with its model configuration metadata replaced by `json`.
    func withModelConfiguration(_ json: String, from source: URL, to name: String) throws -> URL {
        try rewritingHeader(of: source, to: name) { header in
            var metadata = header["__metadata__"] as? [String: String] ?? [:]
            metadata[ModelConfiguration.metadataKey] = json
            header["__metadata__"] = metadata
        }
    }

    /// A checkpoint of a small ResUNet (by default filters 4, 8): a few kilobytes.
    func smallSegmenter(_ name: String = "seg.safetensors",
                        configuration: ResUNetConfiguration = ResUNetConfiguration(filters: [4, 8]),
                        metadata: [String: String] = [:], damage: ((ResUNet) -> Void)? = nil) throws -> URL {
        let model = try ResUNet(configuration: configuration, seed: 1)
        damage?(model)
        let url = self.url(name)
        try Checkpoint.saveModel(model, to: url, metadata: metadata)
        return url
    }
}
