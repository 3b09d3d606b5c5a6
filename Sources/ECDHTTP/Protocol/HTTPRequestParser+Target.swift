extension HTTPRequestParser {
    /// Splits a request-target (RFC 9112 §3.2) into its decoded path, raw path, raw query and
    /// decoded query items. Origin-form (`/p?q`) is the norm; absolute-form is accepted as §3.2.2
    /// requires (its authority is ignored: Host already named it); `*` only for OPTIONS.
    static func parseTarget(_ target: UnsafeRawBufferPointer, method: HTTPMethod) throws(HTTPParseError)
        -> (path: String, rawPath: String, rawQuery: String?, queryItems: [(name: String, value: String)])
    {
        var pathStart = 0
        if target[0] != UInt8(ascii: "/") {
            if target.count == 1 && target[0] == UInt8(ascii: "*") && method == .options {
                return ("*", "*", nil, [])
            }
            guard let authority = absoluteFormPathStart(target) else { throw .bad("request target must be origin-form") }
            pathStart = authority
        }
        let question = target.firstIndex(of: UInt8(ascii: "?"), from: pathStart) ?? target.count
        let rawPathBytes = target.slice(pathStart, question)
        let rawPath = rawPathBytes.isEmpty ? "/" : rawPathBytes.asString
        guard let path = PercentDecoding.decode(rawPath) else { throw .bad("malformed percent-encoding in path") }

        guard question < target.count else { return (path, rawPath, nil, []) }
        let rawQuery = target.slice(question + 1, target.count).asString
        var items: [(name: String, value: String)] = []
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let eq = pair.firstIndex(of: "=")
            let rawName = eq.map { pair[..<$0] } ?? pair
            let rawValue = eq.map { pair[pair.index(after: $0)...] } ?? ""
            guard let name = PercentDecoding.decode(rawName, plusAsSpace: true),
                  let value = PercentDecoding.decode(rawValue, plusAsSpace: true)
            else { throw .bad("malformed percent-encoding in query") }
            items.append((name, value))
        }
        return (path, rawPath, rawQuery, items)
    }

    /// For `http://host/path?q` (scheme case-insensitive): the index where the path begins (or
    /// the end, when the path is empty). Nil when the target is not absolute-form http(s).
    static func absoluteFormPathStart(_ t: UnsafeRawBufferPointer) -> Int? {
        let schemeEnd: Int
        if t.count >= 7 && ByteClass.equalsLowercased(t.slice(0, 7), "http://") {
            schemeEnd = 7
        } else if t.count >= 8 && ByteClass.equalsLowercased(t.slice(0, 8), "https://") {
            schemeEnd = 8
        } else {
            return nil
        }
        var i = schemeEnd
        while i < t.count && t[i] != UInt8(ascii: "/") && t[i] != UInt8(ascii: "?") { i += 1 }
        return i > schemeEnd ? i : nil
    }
}
