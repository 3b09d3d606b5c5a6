import ECDCrypto

/// Seals and opens the secret columns. The associated data names table, row and column
/// (`accounts|42|refresh_token`), so a ciphertext copied to another row or column fails to open.
struct SecretBox: Sendable {
    let keyring: Keyring

    static func associatedData(table: String, row: String, column: String) -> [UInt8] {
        Array("\(table)|\(row)|\(column)".utf8)
    }

    func seal(_ secret: String, table: String, row: String, column: String) throws -> [UInt8] {
        try keyring.seal(Array(secret.utf8), associatedData: Self.associatedData(table: table, row: row, column: column))
    }

    func open(_ envelope: [UInt8], table: String, row: String, column: String) throws -> String {
        let bytes = try keyring.open(envelope, associatedData: Self.associatedData(table: table, row: row, column: column))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Re-seals with the primary key when the envelope was sealed with another one; nil when current.
    func rewrapped(_ envelope: [UInt8], table: String, row: String, column: String) throws -> [UInt8]? {
        if Keyring.keyID(ofEnvelope: envelope) == keyring.primaryKeyID { return nil }
        let associated = Self.associatedData(table: table, row: row, column: column)
        let plaintext = try keyring.open(envelope, associatedData: associated)
        return try keyring.seal(plaintext, associatedData: associated)
    }
}

/// SHA-256 of link tokens, states and cookie nonces: stored instead of the values, compared in
/// constant time.
enum SecretHash {
    static func of(_ value: String) -> [UInt8] { SHA256Digest.hash(Array(value.utf8)) }

    static func matches(_ value: String, _ stored: [UInt8]) -> Bool {
        ConstantTime.equals(of(value), stored)
    }
}
