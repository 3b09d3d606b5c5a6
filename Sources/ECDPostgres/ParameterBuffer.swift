import ECDCLibPQ

/// The parameters of one statement in libpq's form: one contiguous copy of every value, and the
/// pointer, length and format arrays into it. Bytes go in binary format (no escaping, no
/// doubling in size); every other value in PostgreSQL's text format, so the server converts it
/// to the parameter type it inferred for the statement (a text `42` fits int2, int4 and int8).
/// libpq copies the values into its send buffer, so the buffer only lives for one call.
struct ParameterBuffer {
    private var storage: [UInt8] = []
    private var offsets: [Int?] = []   // nil: NULL
    private var lengths: [Int32] = []
    private var formats: [Int32] = []

    /// Throws for text holding a NUL character: libpq sends text parameters as C strings, so
    /// it would be cut short silently (PostgreSQL's text cannot hold NUL anyway).
    init(_ parameters: [PostgresValue], sql: String) throws {
        for (index, parameter) in parameters.enumerated() {
            if case .text(let text) = parameter, text.utf8.contains(0) {
                throw PostgresError(kind: .server, sqlState: "22021",
                                    message: "invalid value for parameter $\(index + 1): text holds a NUL character",
                                    sql: sql)
            }
            switch parameter {
            case .null:
                append(nil, format: 0)
            case .integer(let int):
                append(Array(String(int).utf8), format: 0)
            case .real(let double):
                append(Array(TextFormat.text(double).utf8), format: 0)
            case .bool(let bool):
                append(Array((bool ? "t" : "f").utf8), format: 0)
            case .text(let text):
                append(Array(text.utf8), format: 0)
            case .bytes(let bytes):
                append(bytes, format: 1)
            }
        }
    }

    private mutating func append(_ bytes: [UInt8]?, format: Int32) {
        guard let bytes else {
            offsets.append(nil)
            lengths.append(0)
            formats.append(format)
            return
        }
        offsets.append(storage.count)
        lengths.append(Int32(bytes.count))
        formats.append(format)
        storage.append(contentsOf: bytes)
        // libpq reads text-format values as C strings (their length is ignored): each value
        // ends with a zero. Binary values are read by length, the zero is never sent.
        storage.append(0)
    }

    func withPointers<R>(_ body: ([UnsafePointer<CChar>?], [Int32], [Int32]) -> R) -> R {
        storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress)
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                guard let offset, let base else { return nil }
                return (base + offset).assumingMemoryBound(to: CChar.self)
            }
            return body(pointers, lengths, formats)
        }
    }
}
