/// JSON text written by hand into a byte buffer: RFC 8259 §7 string escaping and decimal
/// integers. The one writer of both: the hot token body, error bodies (`JSONString.quote`), log
/// lines, and the HTTP status line and `Content-Length`.
public enum JSONText {
    @inlinable
    public static func append(literal: StaticString, to out: inout [UInt8]) {
        literal.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// `value` quoted: `"` and `\` escaped, `\n` `\r` `\t` by name, other controls as `\u00XX`;
    /// everything else (UTF-8 included) passes through unchanged.
    public static func append(string value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Tokens, URLs and scopes never need escaping: copy them in one go.
        let copied = value.utf8.withContiguousStorageIfAvailable { buffer -> Bool in
            for byte in buffer where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            out.append(contentsOf: buffer)
            return true
        }
        if copied == true {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default:
                out.append(byte)   // UTF-8 passes through unchanged
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `value` as a JSON string literal (quotes included).
    public static func quoted(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 2)
        append(string: value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func append(optional value: String?, to out: inout [UInt8]) {
        if let value { append(string: value, to: &out) } else { append(literal: "null", to: &out) }
    }

    /// `value` in decimal ASCII digits, `-` first when negative; no allocation.
    @inlinable
    public static func append(integer value: Int, to out: inout [UInt8]) {
        if value >= 0 && value < 10 {
            out.append(UInt8(48 + value))
            return
        }
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(48 + magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }
}
