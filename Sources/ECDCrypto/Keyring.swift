/// A set of AES-256 keys with ids. The first key seals; any key of the ring opens, so keys can be
/// rotated by putting a new key first and re-sealing (rewrapping) old rows at leisure.
///
/// Envelope format, version 1:
///
///     0x01 | idLength (1 byte, 1…255) | key id (UTF-8) | nonce (12) | ciphertext | tag (16)
///
/// The header (version, id length, id) is authenticated as associated data together with the
/// caller's associated data, so neither the key id nor the version can be altered unnoticed.
public struct Keyring: Sendable {
    public struct Key: Sendable {
        public let id: String
        public let bytes: [UInt8]
        public init(id: String, bytes: [UInt8]) {
            self.id = id
            self.bytes = bytes
        }
        /// A key given as base64 text (standard or URL-safe alphabet), as configuration files hold it.
        public init(id: String, base64: String) throws {
            guard let bytes = Base64.decode(base64) ?? Base64.decodeURL(base64) else {
                throw CryptoError.invalidKey("key \"\(id)\" is not valid base64")
            }
            self.init(id: id, bytes: bytes)
        }
    }

    public static let envelopeVersion: UInt8 = 1

    private let keys: [Key]
    private let keysByID: [String: [UInt8]]

    /// Checks that the ring is non-empty, ids are unique, 1…255 bytes of printable ASCII, and every
    /// key is 32 bytes. Errors name the key id, never key material.
    public init(keys: [Key]) throws {
        guard !keys.isEmpty else { throw CryptoError.invalidKey("the keyring is empty") }
        var byID: [String: [UInt8]] = [:]
        for key in keys {
            guard Self.isValidID(key.id) else {
                throw CryptoError.invalidKey("key id must be 1 to 255 printable ASCII characters")
            }
            guard key.bytes.count == AESGCM.keyByteCount else {
                throw CryptoError.invalidKey(
                    "key \"\(key.id)\" must be \(AESGCM.keyByteCount) bytes, got \(key.bytes.count)")
            }
            guard byID.updateValue(key.bytes, forKey: key.id) == nil else {
                throw CryptoError.invalidKey("duplicate key id \"\(key.id)\"")
            }
        }
        self.keys = keys
        self.keysByID = byID
    }

    /// The id of the first key, which seals every new envelope.
    public var primaryKeyID: String { keys[0].id }
    public var keyIDs: [String] { keys.map(\.id) }

    public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        let key = keys[0]
        let header = Self.header(keyID: key.id)
        let sealed = try AESGCM.seal(plaintext, key: key.bytes, associatedData: header + associatedData)
        return header + sealed.nonce + sealed.ciphertext + sealed.tag
    }

    /// Opens an envelope sealed by any key of the ring with the same associated data.
    public func open(_ envelope: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard let parsed = Self.parse(envelope) else { throw CryptoError.malformedEnvelope }
        guard let key = keysByID[parsed.keyID] else { throw CryptoError.unknownKeyID(parsed.keyID) }
        let sealed = AESGCM.Sealed(
            nonce: Array(envelope[parsed.nonce]),
            ciphertext: Array(envelope[parsed.ciphertext]),
            tag: Array(envelope[parsed.tag]))
        return try AESGCM.open(sealed, key: key, associatedData: Array(envelope[parsed.header]) + associatedData)
    }

    /// The key id an envelope names (for rewrapping and diagnostics), or nil when malformed.
    public static func keyID(ofEnvelope envelope: [UInt8]) -> String? {
        parse(envelope)?.keyID
    }

    // MARK: - Format

    private static func isValidID(_ id: String) -> Bool {
        let utf8 = id.utf8
        return (1...255).contains(utf8.count) && utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    private static func header(keyID: String) -> [UInt8] {
        let id = Array(keyID.utf8)
        return [envelopeVersion, UInt8(id.count)] + id
    }

    private struct Parsed {
        var keyID: String
        var header: Range<Int>
        var nonce: Range<Int>
        var ciphertext: Range<Int>
        var tag: Range<Int>
    }

    private static func parse(_ envelope: [UInt8]) -> Parsed? {
        guard envelope.count >= 2, envelope[0] == envelopeVersion else { return nil }
        let idLength = Int(envelope[1])
        let headerEnd = 2 + idLength
        let nonceEnd = headerEnd + AESGCM.nonceByteCount
        guard idLength > 0, envelope.count >= nonceEnd + AESGCM.tagByteCount else { return nil }
        let idBytes = envelope[2..<headerEnd]
        guard idBytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        let tagStart = envelope.count - AESGCM.tagByteCount
        return Parsed(
            keyID: String(decoding: idBytes, as: UTF8.self),
            header: 0..<headerEnd,
            nonce: headerEnd..<nonceEnd,
            ciphertext: nonceEnd..<tagStart,
            tag: tagStart..<envelope.count)
    }
}

// Key material must never reach logs, errors or debugger output: describe keys by id only.
extension Keyring.Key: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "Keyring.Key(id: \(id), bytes: <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["id": id], displayStyle: .struct) }
}

extension Keyring: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "Keyring(keyIDs: \(keyIDs))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["keyIDs": keyIDs], displayStyle: .struct) }
}
