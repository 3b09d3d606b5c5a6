import ECDCore
import Foundation

/// A parsed request body: ECDCore's `JSONValue`, read field by field so that every problem is
/// reported with the path of the offending field (`accounts[2].email`), which `Decodable` models
/// cannot do precisely.
typealias BodyJSON = JSONValue

extension JSONValue {
    /// What a client sent instead, for messages ("expected a string, got a number").
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses a request body. Not JSON at all (or not UTF-8) is the client's framing problem: 400.
    static func parse(_ body: [UInt8]) throws(APIError) -> BodyJSON {
        guard !body.isEmpty else { throw APIError.invalidJSON("the request body is empty; expected JSON") }
        do {
            return try JSONDecoder().decode(BodyJSON.self, from: Data(body))
        } catch {
            throw APIError.invalidJSON("the request body is not valid JSON")
        }
    }
}

/// Reads the members of one JSON object of a request body, naming each field by its full path.
struct JSONObjectReader {
    let members: [String: BodyJSON]
    /// Path of this object inside the body: "" for the top level, "accounts[2]" for an entry.
    let path: String

    init(_ value: BodyJSON, path: String) throws(APIError) {
        guard case .object(let members) = value else {
            throw APIError.invalidField(path.isEmpty ? "body" : path, "expected an object, got \(value.kind)")
        }
        self.members = members
        self.path = path
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Refuses members other than `allowed`, so a misspelt optional field is reported, not ignored.
    func rejectUnknown(allowing allowed: Set<String>) throws(APIError) {
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.invalidField(fieldPath(unknown), "unknown field; expected one of: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// A string member; absent or `null` gives nil.
    func optionalString(_ key: String) throws(APIError) -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw APIError.invalidField(fieldPath(key), "expected a string, got \(other.kind)")
        }
    }

    /// A boolean member; absent or `null` gives nil.
    func optionalBool(_ key: String) throws(APIError) -> Bool? {
        switch members[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw APIError.invalidField(fieldPath(key), "expected a boolean, got \(other.kind)")
        }
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let value = try optionalString(key) else {
            throw APIError.invalidField(fieldPath(key), "is required")
        }
        return value
    }
}
