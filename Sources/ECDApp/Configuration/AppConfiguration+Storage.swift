import ECDPostgres

extension AppConfiguration {
    /// `storage.*`: the driver, its keys, and the keyring. A key that belongs to the other driver
    /// is an error, not ignored: an operator who set `storage.postgres.url` but not
    /// `storage.driver` would otherwise run a single node on a SQLite file while believing it
    /// shares PostgreSQL with the others.
    static func readStorage(_ reader: inout ConfigurationReader, keyringRequired: Bool) -> StorageSettings {
        var driver = StorageSettings.Driver.sqlite
        if let name = reader.string("storage.driver") {
            if let parsed = StorageSettings.Driver(rawValue: name) {
                driver = parsed
            } else {
                let names = StorageSettings.Driver.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
                reader.problem("storage.driver", "must be \(names)")
            }
        }
        let path = reader.string("storage.path") ?? "data/ecd.sqlite"
        var postgres: PostgresSettings?
        switch driver {
        case .sqlite:
            for key in ["storage.postgres.url", "storage.postgres.pool_size", "storage.postgres.lease_seconds"] where reader.sources[key] != nil {
                reader.problem(key, "applies only to storage.driver \"postgres\" (storage.driver is \"sqlite\")")
            }
        case .postgres:
            if reader.sources["storage.path"] != nil {
                reader.problem("storage.path", "applies only to storage.driver \"sqlite\"; with \"postgres\" "
                    + "the database is storage.postgres.url (set audit.path for the audit log's place)")
            }
            postgres = readPostgres(&reader)
        }
        return StorageSettings(driver: driver, path: path, postgres: postgres,
                               encryptionKeys: readKeyring(&reader, required: keyringRequired))
    }

    private static func readPostgres(_ reader: inout ConfigurationReader) -> PostgresSettings? {
        var poolSize = PostgresSettings.defaultPoolSize
        if let size = reader.integer("storage.postgres.pool_size", minimum: 1, rule: "positive (connections)") {
            if size > PostgresSettings.maximumPoolSize {
                reader.problem("storage.postgres.pool_size", "must be at most \(PostgresSettings.maximumPoolSize) (connections)")
            } else {
                poolSize = size
            }
        }
        var leaseSeconds = PostgresSettings.defaultLeaseSeconds
        if let seconds = reader.integer("storage.postgres.lease_seconds", minimum: PostgresSettings.minimumLeaseSeconds,
                                        rule: "at least \(PostgresSettings.minimumLeaseSeconds) (seconds)") {
            if seconds > PostgresSettings.maximumLeaseSeconds {
                reader.problem("storage.postgres.lease_seconds", "must be at most \(PostgresSettings.maximumLeaseSeconds) (seconds)")
            } else {
                leaseSeconds = seconds
            }
        }
        guard let text = reader.string("storage.postgres.url", required: true) else { return nil }
        do {
            return PostgresSettings(url: try PostgresURL(parsing: text), poolSize: poolSize, leaseSeconds: leaseSeconds)
        } catch {
            // The problem names the key, never the value: it may hold a password.
            reader.problem("storage.postgres.url", "\(error)")
            return nil
        }
    }
}
