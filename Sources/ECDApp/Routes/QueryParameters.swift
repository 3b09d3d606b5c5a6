import ECDHTTP

/// Typed access to query parameters. A parameter given more than once, or with a value of the
/// wrong kind, is a 422 naming it (the API's one way of saying "this field is wrong").
struct QueryParameters {
    let request: HTTPRequest

    init(_ request: HTTPRequest) { self.request = request }

    func string(_ name: String) throws(APIError) -> String? {
        let values = request.queryItems.filter { $0.name == name }
        guard values.count <= 1 else { throw APIError.invalidField(name, "given more than once") }
        guard let value = values.first?.value, !value.isEmpty else { return nil }
        return value
    }

    /// An integer within `range`, or `defaultValue` when absent.
    func integer(_ name: String, in range: ClosedRange<Int>, default defaultValue: Int) throws(APIError) -> Int {
        guard let text = try string(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.invalidField(name, "expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// `true`/`false` (also `1`/`0`), or `defaultValue` when absent.
    func boolean(_ name: String, default defaultValue: Bool) throws(APIError) -> Bool {
        guard let text = try string(name) else { return defaultValue }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.invalidField(name, "expected true or false")
        }
    }

    /// Refuses parameters other than `allowed` (a misspelt `limt` would otherwise be ignored).
    func rejectUnknown(allowing allowed: Set<String>) throws(APIError) {
        if let unknown = request.queryItems.first(where: { !allowed.contains($0.name) }) {
            throw APIError.invalidField(unknown.name, "unknown query parameter; expected one of: \(allowed.sorted().joined(separator: ", "))")
        }
    }
}
