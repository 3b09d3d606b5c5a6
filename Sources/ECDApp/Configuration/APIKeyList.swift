import ECDCrypto
import Foundation

/// `internal.api_keys` entries, from the JSON file, `ECD_INTERNAL_API_KEYS` or
/// `internal.api_keys_file`: a plain string is an `admin` key (as before roles existed); an object
/// `{"name", "key" | "key_file" | "key_sha256", "role", "service_accounts"?, "domains"?}` is a named
/// key. Every problem is collected, named by the entry's path, never showing a key.
struct APIKeyList {
    private(set) var keys: [APIKey] = []
    /// (where, what): `internal.api_keys[1].role`, `must be one of admin, tokens, metrics`.
    private(set) var problems: [(String, String)] = []

    static let fields = ["name", "key", "key_file", "key_sha256", "role", "service_accounts", "domains"]

    /// `path(index)` names entry `index` in messages (`internal.api_keys[0]`).
    init(_ items: [ConfigValue], path: (Int) -> String) {
        var names: [String: String] = [:]
        var digests: [[UInt8]: String] = [:]
        for (index, item) in items.enumerated() {
            let at = path(index)
            guard let key = entry(item, index: index, at: at) else { continue }
            if let earlier = names[key.name] {
                problem("\(at).name", "duplicate name \(key.name) (also \(earlier))")
                continue
            }
            if let earlier = digests[key.digest] {
                // The same key twice would be one identity with two roles: which one applies?
                problem(at, "the same key as \(earlier)")
                continue
            }
            names[key.name] = at
            digests[key.digest] = at
            keys.append(key)
        }
    }

    private mutating func problem(_ at: String, _ message: String) { problems.append((at, message)) }

    private mutating func entry(_ item: ConfigValue, index: Int, at: String) -> APIKey? {
        switch item {
        case .string(let text):
            if text.isEmpty { problem(at, "must not be empty"); return nil }
            if let reason = APIKeyStore.problem(with: text) { problem(at, reason); return nil }
            return APIKey(name: "#\(index + 1)", role: .admin, plain: text)
        case .object(let members):
            return namedKey(members, at: at)
        default:
            problem(at, "must be a key (a string) or an object {\"name\", \"key\", \"role\"}, not \(item.typeName)")
            return nil
        }
    }

    private mutating func namedKey(_ members: [String: ConfigValue], at: String) -> APIKey? {
        let start = problems.count
        for name in members.keys.sorted() where !Self.fields.contains(name) && !ConfigurationSources.isComment(name) {
            problem("\(at).\(name)", "unknown key" + ConfigurationSources.didYouMean(
                ConfigurationSuggestion.closest(to: name, among: Self.fields)))
        }
        let name = string(members, "name", at: at)
        if let name, !Self.isValidName(name) {
            problem("\(at).name", "must be 1 to 64 letters, digits, '.', '_' or '-' (it names the key in logs and the audit trail)")
        }
        var role: APIKeyRole?
        if let text = string(members, "role", at: at) {
            role = APIKeyRole(rawValue: text)
            if role == nil {
                problem("\(at).role", "must be one of \(APIKeyRole.allCases.map(\.rawValue).joined(separator: ", "))"
                        + ConfigurationSources.didYouMean(ConfigurationSuggestion.closest(to: text, among: APIKeyRole.allCases.map(\.rawValue))))
            }
        }
        let material = self.material(members, at: at)
        let serviceAccounts = list(members, "service_accounts", at: at)
        let domains = list(members, "domains", at: at)
        for (offset, domain) in domains.enumerated() where domain.contains("@") || domain.contains(" ") || !domain.contains(".") {
            problem("\(at).domains[\(offset)]", "must be an email domain such as example.com")
        }
        if let role, role != .tokens, !serviceAccounts.isEmpty || !domains.isEmpty {
            problem(at, "service_accounts and domains limit a tokens key; a \(role.rawValue) key cannot be limited")
        }
        guard problems.count == start, let name, let role, let material else { return nil }
        return APIKey(name: name, role: role, digest: material.digest, plain: material.plain, form: material.form,
                      serviceAccounts: Set(serviceAccounts), domains: Set(domains))
    }

    /// Exactly one of `key`, `key_file`, `key_sha256`.
    private mutating func material(_ members: [String: ConfigValue], at: String) -> (digest: [UInt8], plain: [UInt8]?, form: APIKey.Form)? {
        let given = ["key", "key_file", "key_sha256"].filter { members[$0] != nil && members[$0] != .null }
        guard given.count == 1 else {
            problem(at, given.isEmpty ? "required: one of key, key_file, key_sha256"
                                      : "set only one of \(given.joined(separator: ", "))")
            return nil
        }
        guard let text = string(members, given[0], at: at) else { return nil }
        switch given[0] {
        case "key":
            if let reason = APIKeyStore.problem(with: text) { problem("\(at).key", reason); return nil }
            return (SHA256Digest.hash(Array(text.utf8)), Array(text.utf8), .key)
        case "key_file":
            let key: String
            do {
                key = try FileReadError.readText(text).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                problem("\(at).key_file", error.reason)
                return nil
            }
            if let reason = APIKeyStore.problem(with: key) { problem("\(at).key_file", "the key in \(text) is \(reason)"); return nil }
            return (SHA256Digest.hash(Array(key.utf8)), Array(key.utf8), .keyFile(text))
        default:
            guard let digest = Self.hexBytes(text), digest.count == SHA256Digest.byteCount else {
                problem("\(at).key_sha256", "must be 64 hex digits (printf %s \"$KEY\" | sha256sum)")
                return nil
            }
            return (digest, nil, .sha256)
        }
    }

    private mutating func string(_ members: [String: ConfigValue], _ field: String, at: String) -> String? {
        switch members[field] {
        case nil, .null?:
            if field == "name" || field == "role" { problem("\(at).\(field)", "required") }
            return nil
        case .string(let text)?:
            if text.trimmingCharacters(in: .whitespaces).isEmpty { problem("\(at).\(field)", "must not be empty"); return nil }
            return text
        case let value?:
            problem("\(at).\(field)", "must be a string, not \(value.typeName)")
            return nil
        }
    }

    private mutating func list(_ members: [String: ConfigValue], _ field: String, at: String) -> [String] {
        guard let value = members[field], value != .null else { return [] }
        guard case .array(let items) = value else {
            problem("\(at).\(field)", "must be a list of strings, not \(value.typeName)")
            return []
        }
        var strings: [String] = []
        for (offset, item) in items.enumerated() {
            guard case .string(let text) = item, !text.isEmpty else {
                problem("\(at).\(field)[\(offset)]", item == .string("") ? "must not be empty" : "must be a string, not \(item.typeName)")
                continue
            }
            strings.append(text)
        }
        return strings
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case 0x30...0x39: digit - 0x30
            case 0x41...0x46: digit - 0x41 + 10
            case 0x61...0x66: digit - 0x61 + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// The keys file: a JSON list (as `internal.api_keys`) when its first visible character is
    /// `[`, else one plain key a line (blank lines and `#` comments skipped).
    static func fileValue(_ text: String) -> ConfigValue? {
        let trimmed = text.drop { $0.isWhitespace }
        if trimmed.first == "[" {
            return try? JSONDecoder().decode(ConfigValue.self, from: Data(text.utf8))
        }
        let lines = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        return .array(lines.map(ConfigValue.string))
    }
}
