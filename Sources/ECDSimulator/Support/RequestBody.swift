import ECDHTTP
import FoundationEssentials

/// A request body read the way Cronofy reads one: JSON (recommended) or
/// `application/x-www-form-urlencoded` (accepted). The content type decides; without one, a body
/// that starts with `{` is taken as JSON.
struct RequestBody {
    /// Top-level string members (JSON) or fields (form). JSON numbers are kept as their text so
    /// that `"count": 3` and `count=3` read alike.
    var fields: [String: String]
    /// The decoded JSON object, when the body was JSON (the batch form needs its array).
    var object: [String: RequestJSON]?

    enum Failure: Error, Equatable {
        case malformed
    }

    init(fields: [String: String], object: [String: RequestJSON]? = nil) {
        self.fields = fields
        self.object = object
    }

    static func parse(_ request: HTTPRequest) throws(Failure) -> RequestBody {
        let contentType = (request.headers["Content-Type"] ?? "").lowercased()
        if request.body.isEmpty { return RequestBody(fields: [:]) }
        let looksJSON = contentType.hasPrefix("application/json")
            || (contentType.isEmpty && request.body.first == UInt8(ascii: "{"))
        if looksJSON { return try parseJSON(request.body) }
        if contentType.hasPrefix("application/x-www-form-urlencoded") || contentType.isEmpty {
            return try parseForm(request.body)
        }
        throw .malformed
    }

    static func parseJSON(_ bytes: [UInt8]) throws(Failure) -> RequestBody {
        guard case .object(let object)? = try? JSONDecoder().decode(RequestJSON.self, from: Data(bytes)) else {
            throw .malformed
        }
        var fields: [String: String] = [:]
        for (key, value) in object {
            if let text = value.scalarText { fields[key] = text }
        }
        return RequestBody(fields: fields, object: object)
    }

    static func parseForm(_ bytes: [UInt8]) throws(Failure) -> RequestBody {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformed }
        return RequestBody(fields: try formFields(text))
    }

    /// `a=1&b=x+y` → `["a": "1", "b": "x y"]`; the first occurrence of a name wins.
    static func formFields(_ text: String) throws(Failure) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentDecoding.decode(parts[0], plusAsSpace: true),
                let value = PercentDecoding.decode(parts.count > 1 ? parts[1] : "", plusAsSpace: true)
            else { throw .malformed }
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    /// The body as text, for the call log (bodies here are JSON or forms, so UTF-8).
    static func logText(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
