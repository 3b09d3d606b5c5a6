import ECDHTTP
import FoundationEssentials

/// A JSON value written by hand, with object keys in the order given, so the simulator's bodies
/// read like the examples in the Cronofy reference and tests can compare them byte for byte.
/// It is written from the reference and shares nothing with the client's models on purpose.
indirect enum SimJSON: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([SimJSON])
    case object([(String, SimJSON)])

    static func == (lhs: SimJSON, rhs: SimJSON) -> Bool { lhs.rendered == rhs.rendered }

    /// Compact JSON text (RFC 8259), no insignificant whitespace.
    var rendered: String {
        var out = ""
        write(into: &out)
        return out
    }

    var bytes: [UInt8] { Array(rendered.utf8) }

    private func write(into out: inout String) {
        switch self {
        case .string(let s): out += JSONString.quote(s)
        case .int(let i): out += String(i)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                out += JSONString.quote(key)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    /// `"value"` or `null`.
    static func optional(_ value: String?) -> SimJSON { value.map(SimJSON.string) ?? .null }
}

extension HTTPResponse {
    /// A JSON response in Cronofy's content type.
    static func simJSON(_ status: HTTPStatus, _ value: SimJSON, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var h = headers
        h.replaceOrAdd(name: "Content-Type", value: "application/json; charset=utf-8")
        return HTTPResponse(status: status, headers: h, body: value.bytes)
    }
}
