import ECDCrypto

extension StorageSettings {
    /// The keyring of `storage.encryption_keys`, first key first. The one loader: `serve` (and a
    /// reload) and `keys rewrap` must agree on which key encrypts and which ones decrypt.
    public func keyring() throws -> Keyring {
        try Keyring(keys: encryptionKeys.map { Keyring.Key(id: $0.id, bytes: $0.bytes) })
    }
}
