/// Query-string building for redirects (RFC 3986 §2: everything but unreserved characters is
/// percent-encoded, so a space is `%20` and a `/` in a scope is `%2F`).
enum URLEncoding {
    static func component(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    static func query(_ items: [(String, String)]) -> String {
        items.map { component($0.0) + "=" + component($0.1) }.joined(separator: "&")
    }

    /// `base` with `items` appended to its query, keeping a query it already has (a
    /// `redirect_uri` may carry its own parameters) and dropping any fragment.
    static func appending(_ items: [(String, String)], to base: String) -> String {
        let withoutFragment = base.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let separator = withoutFragment.contains("?") ? "&" : "?"
        return withoutFragment + separator + query(items)
    }

    /// True for an absolute `http` or `https` URL with a host: what Cronofy accepts as a
    /// `redirect_uri` or `callback_url`.
    static func isHTTPURL(_ s: String) -> Bool {
        let lower = s.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") { rest = lower.dropFirst(8) }
        else if lower.hasPrefix("http://") { rest = lower.dropFirst(7) }
        else { return false }
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return !host.isEmpty && !s.contains(where: { $0 == " " || $0.isNewline })
    }
}
