import FoundationEssentials

/// A JSON request body as read (JSONDecoder, not JSONSerialization: the simulator is linked into
/// `ecd` for the demo, and the daemon loads no libFoundation, issue 14).
indirect enum RequestJSON: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([RequestJSON])
    case object([String: RequestJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([RequestJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: RequestJSON].self)) }
    }

    /// The text of a scalar, so that `"count": 3` and `count=3` read alike: a string as it is, a
    /// whole number without a fraction, booleans as `true`/`false`; nil for objects, arrays, null.
    var scalarText: String? {
        switch self {
        case .string(let text): text
        case .number(let value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .bool(let value): value ? "true" : "false"
        case .null, .array, .object: nil
        }
    }
}
