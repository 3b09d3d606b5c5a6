import Foundation

/// Typed access to the merged sources. Each accessor returns nil when the key is absent or wrong,
/// after recording the problem with the key's name, so loading goes on and reports everything.
struct ConfigurationReader {
    let sources: ConfigurationSources
    private(set) var problems: [String] = []

    init(sources: ConfigurationSources) {
        self.sources = sources
        self.problems = sources.problems
    }

    /// Records a problem of `key` (or of a part of it, `key[0].id`). A value from the environment
    /// is named by its variable (`ECD_REFRESH_LEAD_SECONDS: must be an integer`): that is what the
    /// operator has to find and fix.
    mutating func problem(_ key: String, _ message: String) {
        let base = key.firstIndex(of: "[").map { String(key[..<$0]) } ?? key
        if case .environment(let variable)? = sources[base]?.origin {
            problems.append("\(variable)\(key.dropFirst(base.count)): \(message)")
        } else {
            problems.append("\(key): \(message)")
        }
    }

    /// "must be an integer, not a string", but only "must be an integer" when the value was text
    /// (an environment variable, a `_file`): there "not a string" would say nothing.
    private mutating func wrongType(_ key: String, _ expected: String, _ value: ConfigValue) {
        switch sources[key]?.origin {
        case .environment?, .referencedFile?: problem(key, "must be \(expected)")
        default: problem(key, "must be \(expected), not \(value.typeName)")
        }
    }

    /// The raw value, treating JSON `null` as unset; nil also when required and missing (reported,
    /// unless the config file could not be read: the key may well be in it).
    mutating func raw(_ key: String, required: Bool) -> ConfigValue? {
        if let entry = sources[key], entry.value != .null { return entry.value }
        if required, !sources.failedKeys.contains(key), !sources.configFileFailed {
            // The secrets are the keys usually given through files, so their message says so.
            let spelling = ConfigurationKey.byName[key].flatMap { $0.secret ? " (set \(key) or \($0.fileKeyName))" : nil } ?? ""
            problem(key, "required\(spelling)")
        }
        return nil
    }

    mutating func string(_ key: String, required: Bool = false, allowEmpty: Bool = false) -> String? {
        guard let value = raw(key, required: required) else { return nil }
        guard case .string(let text) = value else {
            problem(key, "must be a string, not \(value.typeName)")
            return nil
        }
        if !allowEmpty, text.trimmingCharacters(in: .whitespaces).isEmpty {
            problem(key, required ? "required (it is empty)" : "must not be empty")
            return nil
        }
        return text
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let value = raw(key, required: false) else { return nil }
        guard case .bool(let flag) = value else {
            wrongType(key, "true or false", value)
            return nil
        }
        return flag
    }

    mutating func integer(_ key: String, minimum: Int, rule: String) -> Int? {
        guard let value = raw(key, required: false) else { return nil }
        guard case .integer(let number) = value else {
            wrongType(key, "an integer", value)
            return nil
        }
        guard number >= minimum else {
            problem(key, "must be \(rule)")
            return nil
        }
        return number
    }

    mutating func stringList(_ key: String, required: Bool = false) -> [String]? {
        guard let value = raw(key, required: required) else { return nil }
        guard case .array(let items) = value else {
            problem(key, "must be a list of strings, not \(value.typeName)")
            return nil
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item, !text.isEmpty else {
                problem("\(key)[\(index)]", item == .string("") ? "must not be empty" : "must be a string, not \(item.typeName)")
                continue
            }
            strings.append(text)
        }
        if required, items.isEmpty {
            problem(key, "required (the list is empty)")
            return nil
        }
        return strings.count == items.count ? strings : nil
    }

    /// A URL that must be absolute, http(s), and https unless the host is a loopback name.
    mutating func url(_ key: String, required: Bool = false) -> URL? {
        guard let text = string(key, required: required) else { return nil }
        switch URLRule.check(text) {
        case .success(let url): return url
        case .failure(let reason):
            problem(key, reason.message)
            return nil
        }
    }
}

/// api-contract.md §2: URLs are https, except for loopback hosts where http is accepted for development.
public enum URLRule {
    public struct Violation: Error, Sendable, Equatable {
        public let message: String
    }

    public static let loopbackHosts: Set<String> = ["127.0.0.1", "::1", "localhost"]

    public static func check(_ text: String) -> Result<URL, Violation> {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty, let url = components.url
        else {
            return .failure(Violation(message: "must be an absolute URL (https://host/…)"))
        }
        guard scheme == "https" || scheme == "http" else {
            return .failure(Violation(message: "must be an https URL"))
        }
        // URLComponents keeps the brackets of an IPv6 host on some platforms.
        let bareHost = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if scheme == "http", !loopbackHosts.contains(bareHost) {
            return .failure(Violation(message: "must be https (http only for loopback hosts)"))
        }
        return .success(url)
    }
}
