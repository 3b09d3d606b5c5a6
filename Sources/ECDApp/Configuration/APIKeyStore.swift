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
    private let state: Locked<[Entry]>
    private let reloads = Atomic<Int>(0)

    /// A key and its SHA-256: requests are checked against the digests, so comparisons take the
    /// same time whatever the presented key's length or content.
    private struct Entry: Sendable {
        let key: [UInt8]
        let digest: [UInt8]
        init(_ key: String) {
            self.key = Array(key.utf8)
            self.digest = SHA256Digest.hash(self.key)
        }
    }

    /// The shortest key accepted: 32 characters (`openssl rand -hex 32` makes 64), so that a key
    /// cannot be guessed, whatever the rate of tries.
    public static let minimumLength = 32

    /// Why `key` cannot be an API key, or nil when it can. Names the length, never the key.
    static func problem(with key: String) -> String? {
        let length = key.count
        guard length < minimumLength else { return nil }
        return "too short (\(length) characters): an API key needs at least \(minimumLength), e.g. openssl rand -hex 32"
    }

    public init(keys: [String], file: String? = nil) {
        self.file = file
        self.state = Locked(keys.map(Entry.init))
    }

    /// Changes whenever the keys do (each ``reload()``), so a check remembered under an older
    /// generation is made again.
    public var generation: Int { reloads.load(ordering: .acquiring) }

    /// How many keys are valid now (the keys themselves are never handed out as text).
    public var count: Int { state.withLock { $0.count } }

    /// Whether `presented` is one of the keys. Every key is compared in full, in time that does not
    /// depend on where the bytes differ, so a caller cannot learn a key byte by byte.
    public func isValid<Bytes: Collection<UInt8>>(_ presented: Bytes) -> Bool {
        matchingKeyIndex(presented) != nil
    }

    public func isValid(_ presented: String) -> Bool { isValid(Array(presented.utf8)) }

    /// Position of the matching key (0 = first), for logs ("which key was used") without the key.
    public func matchingKeyIndex<Bytes: Collection<UInt8>>(_ presented: Bytes) -> Int? {
        let candidate = SHA256Digest.hash(Array(presented))
        let entries = state.withLock { $0 }
        var found: Int?
        // Every key is compared, even after a match, so timing does not say which one matched.
        for (index, entry) in entries.enumerated() where ConstantTime.equals(entry.digest, candidate) && found == nil {
            found = index
        }
        return found
    }

    /// The keys as text, for the few places that must send one (webhook signing, unredacted
    /// descriptions). Never log the result.
    public func keyStrings() -> [String] {
        state.withLock { $0.map { String(decoding: $0.key, as: UTF8.self) } }
    }

    /// The first key: also the HMAC key of webhook signatures (api-contract.md §5).
    public var primaryKey: [UInt8]? { state.withLock { $0.first?.key } }

    /// Rereads ``file``. Keeps the old keys and throws when the file is unreadable or holds no key,
    /// so a botched edit cannot lock every client out. Returns the number of keys now valid.
    @discardableResult
    public func reload() throws(ConfigurationError) -> Int {
        guard let file else {
            throw ConfigurationError(problems: ["internal.api_keys_file: not set, nothing to reload"])
        }
        let keys: [String]
        do {
            keys = try APIKeyStore.readKeyFile(file)
        } catch {
            throw ConfigurationError(problems: ["internal.api_keys_file: \(error.reason)"])
        }
        guard !keys.isEmpty else {
            throw ConfigurationError(problems: ["internal.api_keys_file: \(file) holds no key"])
        }
        let problems = keys.enumerated().compactMap { index, key in
            APIKeyStore.problem(with: key).map { "internal.api_keys_file: key \(index + 1) of \(file): \($0)" }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        state.withLock { $0 = keys.map(Entry.init) }
        reloads.add(1, ordering: .releasing)
        return keys.count
    }

    /// One key a line; blank lines and lines starting with `#` are skipped, surrounding spaces trimmed.
    static func readKeyFile(_ path: String) throws(FileReadError) -> [String] {
        try FileReadError.readText(path)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}
