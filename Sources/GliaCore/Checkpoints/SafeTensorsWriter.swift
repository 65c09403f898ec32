// Writing safetensors files (layout in SafeTensors.swift), atomically.
//
// Tensors are laid out in name order; the header JSON has sorted keys and is padded with spaces to
// a multiple of 8 bytes so the data section starts aligned, as the Python library does.
// Saves go through AtomicFile: a crash leaves either the old file or the new one.
import Foundation

/// A tensor to write and the element type to store it as.
public struct SafeTensorsRecord: Sendable {
    /// Tensor name in the file.
    public var name: String
    /// Values and shape, written as they are (convert layouts before).
    public var tensor: Tensor
    /// Stored element type: `.f32`, or `.i64` for integer buffers (values rounded to nearest).
    public var dtype: SafeTensorsDType

    /// A record to write; only `.f32` and `.i64` are writable.
    public init(name: String, tensor: Tensor, dtype: SafeTensorsDType = .f32) {
        self.name = name
        self.tensor = tensor
        self.dtype = dtype
    }
}

/// Writes safetensors files.
public enum SafeTensorsWriter {
    /// Writes `records` and `metadata` to `url`, atomically. Names must be unique.
    public static func write(_ records: [SafeTensorsRecord], metadata: [String: String] = [:], to url: URL) throws {
        func fail(_ problem: SafeTensorsProblem) -> SafeTensorsError { SafeTensorsError(path: url.path, problem: problem) }
        let sorted = records.sorted { $0.name < $1.name }
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (i, record) in sorted.enumerated() {
            guard record.dtype == .f32 || record.dtype == .i64 else {
                throw fail(.unsupportedWriteType(name: record.name, dtype: record.dtype.rawValue))
            }
            guard record.name != "__metadata__", i == 0 || sorted[i - 1].name != record.name else {
                throw fail(.invalidEntry(name: record.name, "name used twice or reserved"))
            }
            let size = record.tensor.count * record.dtype.byteSize
            header[record.name] = ["dtype": record.dtype.rawValue, "shape": record.tensor.shape,
                                   "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json: Data
        do { json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) } catch {
            throw fail(.writeFailed("header encoding: \(error.localizedDescription)"))
        }
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var prefix = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix.append(json)

        try AtomicFile.write(to: url) { sink in
            try sink(prefix)
            for record in sorted { try sink(encode(record)) }
        }
    }

    /// Little-endian bytes of one record's elements.
    private static func encode(_ record: SafeTensorsRecord) -> Data {
        var out = Data(count: record.tensor.count * record.dtype.byteSize)
        out.withUnsafeMutableBytes { raw in
            for (i, v) in record.tensor.scalars.enumerated() {
                if record.dtype == .i64 {
                    let value = v.isFinite ? Int64(v.rounded()) : 0
                    raw.storeBytes(of: value.littleEndian, toByteOffset: i * 8, as: Int64.self)
                } else {
                    raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
                }
            }
        }
        return out
    }
}
