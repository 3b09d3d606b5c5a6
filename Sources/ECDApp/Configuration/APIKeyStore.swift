import ECDCrypto
import ECDSync
import Foundation
import Synchronization

/// The internal API's keys, shared by every copy of an ``AppConfiguration``.
///
/// Several keys may be valid at once so clients can be moved to a new key before the old one is
/// removed. When the keys come from `internal.api_keys_file`, `ecd serve` calls ``reload()`` on
/// `SIGHUP`, so a rotation needs no restart; keys set inline (JSON or environment) stay fixed.
public final class APIKeyStore: Sendable {
    /// The file the keys were read from, when they were.
    public let file: String?
    private let state: Locked<[APIKey]>
    private let reloads = Atomic<Int>(0)

    /// The shortest key accepted: 32 characters (`openssl rand -hex 32` makes 64), so that a key
    /// cannot be guessed, whatever the rate of tries.
    public static let minimumLength = 32

    /// Why `key` cannot be an API key, or nil when it can. Names the length, never the key.
    static func problem(with key: String) -> String? {
        let length = key.count
        guard length < minimumLength else { return nil }
        return "too short (\(length) characters): an API key needs at least \(minimumLength), e.g. openssl rand -hex 32"
    }

    /// Plain keys: each an `admin` key named by its position (`#1`…), as before roles existed.
    public convenience init(keys: [String], file: String? = nil) {
        self.init(apiKeys: keys.enumerated().map { APIKey(name: "#\($0 + 1)", role: .admin, plain: $1) }, file: file)
    }

    public init(apiKeys: [APIKey], file: String? = nil) {
        self.file = file
        self.state = Locked(apiKeys)
    }

    /// Changes whenever the keys do (each ``reload()``), so a check remembered under an older
    /// generation is made again.
    public var generation: Int { reloads.load(ordering: .acquiring) }

    /// How many keys are valid now (the keys themselves are never handed out as text).
    public var count: Int { state.withLock { $0.count } }

    /// The keys as configured now (digests, names, roles; a key's text only where it was given).
    public var keys: [APIKey] { state.withLock { $0 } }

    /// Whether `presented` is one of the keys. Every key is compared in full, in time that does not
    /// depend on where the bytes differ, so a caller cannot learn a key byte by byte.
    public func isValid<Bytes: Collection<UInt8>>(_ presented: Bytes) -> Bool {
        matchingKeyIndex(presented) != nil
    }

    public func isValid(_ presented: String) -> Bool { isValid(Array(presented.utf8)) }

    /// Position of the matching key (0 = first), for logs ("which key was used") without the key.
    public func matchingKeyIndex<Bytes: Collection<UInt8>>(_ presented: Bytes) -> Int? {
        match(SHA256Digest.hash(Array(presented))).map(\.index)
    }

    /// The key `presented` is, with its name and role, or nil.
    public func identify<Bytes: Collection<UInt8>>(_ presented: Bytes) -> APIKey? {
        match(SHA256Digest.hash(Array(presented)))?.key
    }

    /// The key with this SHA-256 (a digest computed once per connection may be looked up again).
    public func identify(digest: [UInt8]) -> APIKey? { match(digest)?.key }

    /// The key named `name` (as ``APIKeyAuthentication`` left it on the request).
    public func key(named name: String) -> APIKey? {
        state.withLock { keys in keys.first { $0.name == name } }
    }

    private func match(_ candidate: [UInt8]) -> (index: Int, key: APIKey)? {
        let entries = state.withLock { $0 }
        var found: (Int, APIKey)?
        // Every key is compared, even after a match, so timing does not say which one matched.
        for (index, entry) in entries.enumerated() where ConstantTime.equals(entry.digest, candidate) && found == nil {
            found = (index, entry)
        }
        return found
    }

    /// Rereads ``file``. Keeps the old keys and throws when the file is unreadable or holds no key,
    /// so a botched edit cannot lock every client out. Returns the number of keys now valid.
    @discardableResult
    public func reload() throws(ConfigurationError) -> Int {
        guard let file else {
            throw ConfigurationError(problems: ["internal.api_keys_file: not set, nothing to reload"])
        }
        let text: String
        do {
            text = try FileReadError.readText(file)
        } catch {
            throw ConfigurationError(problems: ["internal.api_keys_file: \(error.reason)"])
        }
        guard let value = APIKeyList.fileValue(text) else {
            let syntax = JSONSyntaxCheck.firstError(in: Array(text.utf8)).map { ": \($0)" } ?? ""
            throw ConfigurationError(problems: ["internal.api_keys_file: \(file) is not valid JSON\(syntax)"])
        }
        let list = APIKeyStore.parse(value, file: file)
        guard list.problems.isEmpty else {
            throw ConfigurationError(problems: list.problems.map { "internal.api_keys_file: \($0): \($1)" })
        }
        guard !list.keys.isEmpty else {
            throw ConfigurationError(problems: ["internal.api_keys_file: \(file) holds no key"])
        }
        state.withLock { $0 = list.keys }
        reloads.add(1, ordering: .releasing)
        return list.keys.count
    }

    /// The entries of a keys file, each named by its position in the file.
    static func parse(_ value: ConfigValue, file: String) -> APIKeyList {
        guard case .array(let items) = value else {
            return APIKeyList([value], path: { _ in "\(file) (a list of keys)" })
        }
        let json = items.contains { if case .string = $0 { false } else { true } }
        return APIKeyList(items, path: { json ? "\(file)[\($0)]" : "key \($0 + 1) of \(file)" })
    }
}
