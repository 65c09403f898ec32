// SafeTensors: the checkpoint file format (Hugging Face's safetensors), read and validated here.
//
// File layout (all integers little-endian):
//   bytes 0..<8      UInt64 N, the header length
//   bytes 8..<8+N    UTF-8 JSON object: {name: {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}},
//                    optionally "__metadata__": {string: string}; may be padded with spaces
//   bytes 8+N...     the data section; a tensor's bytes are [b, e) relative to its start, row-major,
//                    little-endian elements
// The tensors must tile the data section exactly: no overlap, no hole, nothing left over.
// Reading maps the file (Data .alwaysMapped) and converts one tensor at a time to Float, so a large
// file costs only the tensors asked for. Writing is in SafeTensorsWriter.swift.
import Foundation

/// Element types of the safetensors format that Glia reads (all converted to Float).
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// IEEE floats of 64, 32 and 16 bits, and bfloat16 (the top half of a float32).
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    /// Signed and unsigned integers, and bytes holding 0 or 1.
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// True for the floating-point types (the ones a model parameter may be stored in).
    public var isFloat: Bool { [.f64, .f32, .f16, .bf16].contains(self) }

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

/// One tensor's header entry.
public struct SafeTensorsEntry: Sendable, Equatable {
    /// Element type as stored.
    public var dtype: SafeTensorsDType
    /// Shape as stored (PyTorch layout for files PyTorch wrote).
    public var shape: [Int]
    /// Byte range inside the data section.
    public var byteRange: Range<Int>
}

/// What is wrong with a safetensors file.
public enum SafeTensorsProblem: Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case unreadable(String)
    /// Fewer than the 8 bytes of the length field.
    case tooShort(bytes: Int)
    /// The header length field exceeds `SafeTensorsFile.maximumHeaderLength`.
    case headerTooLarge(length: UInt64, limit: Int)
    /// The header length field runs past the end of the file.
    case headerBeyondFile(length: UInt64, available: Int)
    /// The header is not a JSON object.
    case invalidJSON(String)
    /// A tensor entry lacks or mistypes dtype, shape or data_offsets.
    case invalidEntry(name: String, String)
    /// A dtype Glia does not read.
    case unknownDType(name: String, dtype: String)
    /// data_offsets reversed, negative or beyond the data section.
    case offsetsOutOfRange(name: String, begin: Int, end: Int, dataSize: Int)
    /// shape x dtype size differs from the byte span of the offsets.
    case sizeMismatch(name: String, shape: [Int], dtype: String, expected: Int, actual: Int)
    /// Two tensors share bytes.
    case overlap(name: String, other: String)
    /// Bytes of the data section that no tensor covers, before a tensor.
    case hole(at: Int, before: String)
    /// Bytes at the end of the data section that no tensor covers.
    case trailingBytes(covered: Int, dataSize: Int)
    /// `__metadata__` is not an object of strings.
    case invalidMetadata
    /// A requested tensor is not in the file.
    case missingTensor(String)
    /// The writer only stores F32 and I64.
    case unsupportedWriteType(name: String, dtype: String)
    /// Creating, writing, syncing or renaming the file failed.
    case writeFailed(String)

    public var description: String {
        switch self {
        case let .unreadable(why): return "cannot read file: \(why)"
        case let .tooShort(bytes): return "file of \(bytes) bytes is too short for a safetensors header"
        case let .headerTooLarge(length, limit):
            return "header length \(length) exceeds the \(limit)-byte limit"
        case let .headerBeyondFile(length, available):
            return "header length \(length) is larger than the \(available) bytes after the length field"
        case let .invalidJSON(why): return "header is not valid JSON: \(why)"
        case let .invalidEntry(name, why): return "tensor \"\(name)\": \(why)"
        case let .unknownDType(name, dtype): return "tensor \"\(name)\": unknown dtype \"\(dtype)\""
        case let .offsetsOutOfRange(name, begin, end, size):
            return "tensor \"\(name)\": data_offsets [\(begin), \(end)] outside the \(size)-byte data section"
        case let .sizeMismatch(name, shape, dtype, expected, actual):
            return "tensor \"\(name)\": shape \(shape) of \(dtype) needs \(expected) bytes, offsets span \(actual)"
        case let .overlap(name, other): return "tensors \"\(other)\" and \"\(name)\" overlap in the data section"
        case let .hole(at, before): return "unused bytes at data offset \(at) before tensor \"\(before)\""
        case let .trailingBytes(covered, size):
            return "tensors cover \(covered) of the \(size) data bytes; the rest is unused"
        case .invalidMetadata: return "\"__metadata__\" must be an object of string values"
        case let .missingTensor(name): return "no tensor named \"\(name)\""
        case let .unsupportedWriteType(name, dtype): return "tensor \"\(name)\": cannot write dtype \(dtype)"
        case let .writeFailed(why): return "cannot write file: \(why)"
        }
    }
}

/// A safetensors read or write failure, naming the file.
public struct SafeTensorsError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The file's path.
    public var path: String
    /// What is wrong.
    public var problem: SafeTensorsProblem

    /// An error about the file at `path`.
    public init(path: String, problem: SafeTensorsProblem) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
    public var errorDescription: String? { description }
}

/// A validated safetensors file whose tensors are converted to Float on request.
public struct SafeTensorsFile: Sendable {
    /// Largest header accepted; real headers are tens of kilobytes.
    public static let maximumHeaderLength = 100_000_000

    /// Path of the file, for messages.
    public let path: String
    /// The `__metadata__` strings (empty when absent).
    public let metadata: [String: String]
    /// Header entries by tensor name.
    public let entries: [String: SafeTensorsEntry]
    private let bytes: Data
    private let dataStart: Int

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Elements over all tensors (validated against the data section, so it cannot overflow).
    public var elementCount: Int { entries.values.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Maps and validates the file at `url`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError(path: url.path, problem: .unreadable(error.localizedDescription))
        }
        try self.init(data: data, path: url.path)
    }

    /// Validates safetensors bytes already in memory; `path` is only used in messages.
    public init(data: Data, path: String) throws {
        func fail(_ problem: SafeTensorsProblem) -> SafeTensorsError {
            SafeTensorsError(path: path, problem: problem)
        }
        guard data.count >= 8 else { throw fail(.tooShort(bytes: data.count)) }
        let length = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
        guard length <= UInt64(Self.maximumHeaderLength) else {
            throw fail(.headerTooLarge(length: length, limit: Self.maximumHeaderLength))
        }
        guard length <= UInt64(data.count - 8) else {
            throw fail(.headerBeyondFile(length: length, available: data.count - 8))
        }
        let start = data.startIndex
        let header = try Self.parseHeader(data[(start + 8)..<(start + 8 + Int(length))], fail: fail)
        dataStart = 8 + Int(length)
        entries = try Self.validate(header.entries, dataSize: data.count - dataStart, fail: fail)
        metadata = header.metadata
        bytes = data
        self.path = path
    }

    /// Reads only the metadata of the file at `url` (validating the whole header).
    public static func metadata(at url: URL) throws -> [String: String] {
        try SafeTensorsFile(contentsOf: url).metadata
    }

    /// The tensor `name` converted to Float, in the stored shape.
    public func tensor(named name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw SafeTensorsError(path: path, problem: .missingTensor(name)) }
        let count = entry.shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        let offset = dataStart + entry.byteRange.lowerBound
        bytes.withUnsafeBytes { raw in
            values.withUnsafeMutableBufferPointer { out in
                Self.convert(raw, offset: offset, dtype: entry.dtype, into: out)
            }
        }
        return Tensor(shape: entry.shape, scalars: values)
    }

    /// Converts `out.count` little-endian elements starting at `offset` to Float.
    private static func convert(_ raw: UnsafeRawBufferPointer, offset: Int, dtype: SafeTensorsDType,
                                into out: UnsafeMutableBufferPointer<Float>) {
        func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            T(littleEndian: raw.loadUnaligned(fromByteOffset: offset + i * MemoryLayout<T>.size, as: T.self))
        }
        for i in 0..<out.count {
            switch dtype {
            case .f32: out[i] = Float(bitPattern: load(i, UInt32.self))
            case .f64: out[i] = Float(Double(bitPattern: load(i, UInt64.self)))
            case .f16: out[i] = halfToFloat(load(i, UInt16.self))
            case .bf16: out[i] = Float(bitPattern: UInt32(load(i, UInt16.self)) << 16)
            case .i64: out[i] = Float(load(i, Int64.self))
            case .i32: out[i] = Float(load(i, Int32.self))
            case .i16: out[i] = Float(load(i, Int16.self))
            case .i8: out[i] = Float(load(i, Int8.self))
            case .u8: out[i] = Float(load(i, UInt8.self))
            case .bool: out[i] = load(i, UInt8.self) != 0 ? 1 : 0
            }
        }
    }

    /// IEEE 754 binary16 to binary32: sign, 5-bit exponent (bias 15), 10-bit mantissa.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1F), mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0: return sign * Float(mantissa) * 0x1p-24  // zero and subnormals
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default:
            let bits = (h & 0x8000 != 0 ? UInt32(1) << 31 : 0) | UInt32(exponent + 112) << 23 | mantissa << 13
            return Float(bitPattern: bits)
        }
    }

    // MARK: header

    private struct RawEntry: Decodable {
        var dtype: String
        var shape: [Int]
        var data_offsets: [Int]
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct RawHeader: Decodable {
        var entries: [String: RawEntry] = [:]
        var metadata: [String: String] = [:]

        /// Thrown from inside decoding so the caller can name the bad entry.
        enum Problem: Error {
            case metadata
            case entry(String, DecodingError)
        }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    do { metadata = try container.decode([String: String].self, forKey: key) } catch {
                        throw Problem.metadata
                    }
                } else {
                    do { entries[key.stringValue] = try container.decode(RawEntry.self, forKey: key) } catch let error as DecodingError {
                        throw Problem.entry(key.stringValue, error)
                    }
                }
            }
        }
    }

    private static func parseHeader(_ json: Data, fail: (SafeTensorsProblem) -> SafeTensorsError) throws -> RawHeader {
        do {
            return try JSONDecoder().decode(RawHeader.self, from: json)
        } catch RawHeader.Problem.metadata {
            throw fail(.invalidMetadata)
        } catch let RawHeader.Problem.entry(name, error) {
            throw fail(.invalidEntry(name: name, "needs \"dtype\" (string), \"shape\" and \"data_offsets\" "
                + "(integer arrays): \(describe(error))"))
        } catch let error as DecodingError {
            throw fail(.invalidJSON(describe(error)))
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case let .dataCorrupted(c), let .typeMismatch(_, c), let .valueNotFound(_, c), let .keyNotFound(_, c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "\(path): \(c.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// Checks each entry's dtype, shape and offsets, then that the entries tile the data section.
    private static func validate(_ raw: [String: RawEntry], dataSize: Int,
                                 fail: (SafeTensorsProblem) -> SafeTensorsError) throws -> [String: SafeTensorsEntry] {
        var entries: [String: SafeTensorsEntry] = [:]
        for (name, e) in raw {
            guard let dtype = SafeTensorsDType(rawValue: e.dtype) else {
                throw fail(.unknownDType(name: name, dtype: e.dtype))
            }
            guard e.shape.allSatisfy({ $0 >= 0 }) else {
                throw fail(.invalidEntry(name: name, "negative extent in shape \(e.shape)"))
            }
            guard e.data_offsets.count == 2 else {
                throw fail(.invalidEntry(name: name, "data_offsets must hold two integers, got \(e.data_offsets)"))
            }
            let (begin, end) = (e.data_offsets[0], e.data_offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail(.offsetsOutOfRange(name: name, begin: begin, end: end, dataSize: dataSize))
            }
            let (elements, overflow) = e.shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            let (expected, overflow2) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, !overflow2, expected == end - begin else {
                throw fail(.sizeMismatch(name: name, shape: e.shape, dtype: e.dtype,
                                         expected: overflow || overflow2 ? Int.max : expected, actual: end - begin))
            }
            entries[name] = SafeTensorsEntry(dtype: dtype, shape: e.shape, byteRange: begin..<end)
        }
        // Sorting by (begin, end) puts empty tensors before a tensor starting at the same offset.
        let ordered = entries.sorted {
            ($0.value.byteRange.lowerBound, $0.value.byteRange.upperBound, $0.key)
                < ($1.value.byteRange.lowerBound, $1.value.byteRange.upperBound, $1.key)
        }
        var covered = 0
        var previous: String?
        for (name, entry) in ordered {
            let range = entry.byteRange
            if range.lowerBound < covered, let previous { throw fail(.overlap(name: name, other: previous)) }
            if range.lowerBound > covered { throw fail(.hole(at: covered, before: name)) }
            covered = range.upperBound
            if !range.isEmpty { previous = name }
        }
        guard covered == dataSize else { throw fail(.trailingBytes(covered: covered, dataSize: dataSize)) }
        return entries
    }
}
