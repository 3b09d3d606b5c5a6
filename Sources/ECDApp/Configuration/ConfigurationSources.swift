import Foundation

/// Where an effective value came from, shown by `check-config`.
public enum ConfigurationOrigin: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    case configFile(String)
    case environment(String)
    /// Read from `path`, named by the `_file` key `via` (itself from the file or the environment).
    case referencedFile(path: String, via: String)

    public var description: String {
        switch self {
        case .defaultValue: "default"
        case .configFile(let path): "from \(path)"
        case .environment(let name): "from $\(name)"
        case .referencedFile(let path, let via): "read from \(path) (\(via))"
        }
    }
}

/// The raw values of every key after merging the JSON file, the environment and `_file`
/// companions, before any type is checked. Problems met on the way (unreadable files, unknown keys,
/// a key set twice) are collected, not thrown, so the user sees them all at once.
struct ConfigurationSources {
    struct Entry {
        var value: ConfigValue
        var origin: ConfigurationOrigin
    }

    private(set) var entries: [String: Entry] = [:]
    private(set) var problems: [String] = []
    /// Keys whose source was present but unusable (problem already reported): not "required" too.
    private(set) var failedKeys: Set<String> = []
    /// The JSON file actually read, if any.
    private(set) var configFile: String?
    /// The JSON file was named but could not be used (unreadable, not JSON, not an object): its
    /// keys are unknown, so a key missing from the rest is not reported as "required" as well.
    private(set) var configFileFailed = false

    init(configPath: String?, environment: [String: String], defaultConfigPath: String) {
        var fileValues: [String: ConfigValue] = [:]
        let path = configPath ?? (FileManager.default.fileExists(atPath: defaultConfigPath) ? defaultConfigPath : nil)
        if let path {
            configFile = path
            fileValues = readConfigFile(path)
        }
        for key in ConfigurationKey.all {
            resolve(key, fileValues: fileValues, environment: environment)
        }
        reportUnknownVariables(environment)
    }

    /// An `ECD_<SECTION>_…` variable that names no key, or any `ECD_*` variable a typo away from
    /// a key's (`ECD_REFERSH_LEAD_SECONDS`), is almost surely a mistake that would otherwise be
    /// ignored in silence, like an unknown JSON key. Other `ECD_*` variables (`ECD_API_KEY`,
    /// `ECD_URL` of the command-line clients, scripts' own) are left alone.
    private mutating func reportUnknownVariables(_ environment: [String: String]) {
        let known = Set(ConfigurationKey.acceptedNames.map(ConfigurationKey.environmentName(of:)))
        let prefixes = ConfigurationKey.sections.map { ConfigurationKey.environmentName(of: $0) + "_" }
        for name in environment.keys.sorted() where name.hasPrefix("ECD_") && !known.contains(name) {
            let suggestion = ConfigurationSuggestion.variable(for: name)
            guard suggestion != nil || prefixes.contains(where: name.hasPrefix) else { continue }
            problems.append("\(name): not a configuration key" + Self.didYouMean(suggestion.map {
                "\($0) (\(Self.keyName(ofVariable: $0)))"
            }))
        }
    }

    /// `ECD_LOG_LEVEL` → `log.level` (the key whose variable it is).
    private static func keyName(ofVariable variable: String) -> String {
        ConfigurationKey.acceptedNames.first { ConfigurationKey.environmentName(of: $0) == variable } ?? variable
    }

    static func didYouMean(_ suggestion: String?) -> String {
        suggestion.map { "; did you mean \($0)?" } ?? ""
    }

    subscript(name: String) -> Entry? { entries[name] }

    // MARK: - The JSON file

    private mutating func readConfigFile(_ path: String) -> [String: ConfigValue] {
        let data: Data
        do {
            data = Data(try FileReadError.readText(path).utf8)
        } catch {
            problems.append("config: \(error.reason)")
            configFileFailed = true
            return [:]
        }
        if let syntax = JSONSyntaxCheck.firstError(in: Array(data)) {
            problems.append("config: \(path) is not valid JSON: \(syntax)")
            configFileFailed = true
            return [:]
        }
        let root: ConfigValue
        do {
            root = try JSONDecoder().decode(ConfigValue.self, from: data)
        } catch {
            problems.append("config: \(path) is not valid JSON (\(ConfigurationSources.describe(error)))")
            configFileFailed = true
            return [:]
        }
        guard case .object(let sections) = root else {
            problems.append("config: \(path) must hold a JSON object")
            configFileFailed = true
            return [:]
        }
        var values: [String: ConfigValue] = [:]
        for (section, content) in sections.sorted(by: { $0.key < $1.key }) where !Self.isComment(section) {
            guard ConfigurationKey.sections.contains(section) else {
                problems.append("\(section): unknown key" + Self.didYouMean(Self.sectionSuggestion(section)))
                continue
            }
            guard case .object(let keys) = content else {
                problems.append("\(section): must be an object, not \(content.typeName)")
                continue
            }
            collect(keys, under: section, into: &values)
        }
        return values
    }

    /// The keys of one object of the file, named `prefix.key`; an object that is a group of keys
    /// (`storage.postgres`: `{"url": …, "pool_size": …}`) is read the same way, one level down.
    private mutating func collect(_ keys: [String: ConfigValue], under prefix: String, into values: inout [String: ConfigValue]) {
        for (key, value) in keys.sorted(by: { $0.key < $1.key }) where !Self.isComment(key) {
            let name = "\(prefix).\(key)"
            if ConfigurationKey.acceptedNames.contains(name) {
                values[name] = value
            } else if ConfigurationKey.groups.contains(name) {
                guard case .object(let inner) = value else {
                    problems.append("\(name): must be an object, not \(value.typeName)")
                    continue
                }
                collect(inner, under: name, into: &values)
            } else {
                problems.append("\(name): unknown key" + Self.didYouMean(ConfigurationSuggestion.key(for: name)))
            }
        }
    }

    /// A known section for an unknown top-level key: a close spelling (`refesh` → `refresh`), or
    /// the nesting of a dotted key written flat (`"log.level": …` → `{"log": {"level": …}}`).
    private static func sectionSuggestion(_ name: String) -> String? {
        if ConfigurationKey.acceptedNames.contains(name), let dot = name.firstIndex(of: ".") {
            return "{\"\(name[..<dot])\": {\"\(name[name.index(after: dot)...])\": …}}"
        }
        return ConfigurationSuggestion.closest(to: name, among: ConfigurationKey.sections.sorted())
    }

    /// JSON has no comments; keys starting with `//` or `_comment` are accepted and ignored so the
    /// example files can explain themselves.
    static func isComment(_ key: String) -> Bool { key.hasPrefix("//") || key.hasPrefix("_comment") }

    // MARK: - Merging

    private mutating func resolve(_ key: ConfigurationKey, fileValues: [String: ConfigValue], environment: [String: String]) {
        let envName = ConfigurationKey.environmentName(of: key.name)
        var envDirect: ConfigValue?
        if let text = environment[envName] {
            envDirect = environmentValue(text, for: key, variable: envName)
            if envDirect == nil { failedKeys.insert(key.name); return }
        }
        let fileDirect = fileValues[key.name]
        let fileKey = key.fileKeyName
        let envFileName = ConfigurationKey.environmentName(of: fileKey)
        let envFile = environment[envFileName]
        let fileFile = fileValues[fileKey]
        // The environment wins over the JSON file as a whole: `ECD_X` beats a `x_file` in the JSON
        // and `ECD_X_FILE` beats an inline `x`. Both spellings at the same level is ambiguous.
        if envDirect != nil, envFile != nil {
            problems.append("\(key.name): set by both $\(envName) and $\(envFileName); keep one")
            failedKeys.insert(key.name)
        } else if let envDirect {
            entries[key.name] = Entry(value: envDirect, origin: .environment(envName))
        } else if let envFile {
            readReferencedFile(envFile, for: key, via: "$\(envFileName)")
        } else if fileDirect != nil, fileFile != nil {
            problems.append("\(key.name): set both \(key.name) and \(fileKey); keep one")
            failedKeys.insert(key.name)
        } else if let fileDirect, let configFile {
            entries[key.name] = Entry(value: fileDirect, origin: .configFile(configFile))
        } else if let fileFile {
            guard case .string(let path) = fileFile, !path.isEmpty else {
                problems.append("\(fileKey): must be a file path string, not \(fileFile.typeName)")
                failedKeys.insert(key.name)
                return
            }
            readReferencedFile(path, for: key, via: fileKey)
        }
    }

    private mutating func readReferencedFile(_ path: String, for key: ConfigurationKey, via: String) {
        let fileKey = key.fileKeyName
        let text: String
        do {
            text = try FileReadError.readText(path)
        } catch {
            problems.append("\(fileKey): \(error.reason)")
            failedKeys.insert(key.name)
            return
        }
        let value: ConfigValue
        switch key.fileFormat {
        case .text:
            var trimmed = Substring(text)
            while let last = trimmed.last, last.isNewline { trimmed.removeLast() }
            value = Self.textValue(String(trimmed), kind: key.kind) ?? .string(String(trimmed))
        case .lines where text.drop(while: \.isWhitespace).first != "[":
            let lines = text.split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            value = .array(lines.map(ConfigValue.string))
        case .lines, .json:
            if let syntax = JSONSyntaxCheck.firstError(in: Array(text.utf8)) {
                // Where, never what: the file holds a secret.
                problems.append("\(fileKey): \(path) is not valid JSON: \(syntax)")
                failedKeys.insert(key.name)
                return
            }
            do {
                value = try JSONDecoder().decode(ConfigValue.self, from: Data(text.utf8))
            } catch {
                // The decoder's message may quote the input; the input is a secret, so only say where.
                problems.append("\(fileKey): \(path) is not valid JSON")
                failedKeys.insert(key.name)
                return
            }
        }
        entries[key.name] = Entry(value: value, origin: .referencedFile(path: path, via: via))
    }

    /// Environment variables are text; the key's type says how to read them. A value that does not
    /// parse is kept as a string so type checking reports it with the key's name.
    private mutating func environmentValue(_ text: String, for key: ConfigurationKey, variable: String) -> ConfigValue? {
        if let value = Self.textValue(text, kind: key.kind) { return value }
        problems.append("\(variable): must be a JSON list, e.g. [\"a\", \"b\"]")
        return nil
    }

    /// Text (an environment variable, a `_file`) read as the key's kind; nil only for a list that
    /// is not JSON. Booleans and integers that do not parse stay strings, for the type check.
    static func textValue(_ text: String, kind: ConfigurationKey.Kind) -> ConfigValue? {
        switch kind {
        case .string:
            return .string(text)
        case .bool:
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "1", "yes": return .bool(true)
            case "false", "0", "no": return .bool(false)
            default: return .string(text)
            }
        case .integer:
            return Int(text.trimmingCharacters(in: .whitespaces)).map(ConfigValue.integer) ?? .string(text)
        case .stringList, .keyring, .apiKeys:
            return try? JSONDecoder().decode(ConfigValue.self, from: Data(text.utf8))
        }
    }

    /// A JSON syntax error without the offending text (which may be a secret).
    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return context.debugDescription.split(separator: "\n").first.map(String.init) ?? "syntax error"
        }
        return "syntax error"
    }
}
