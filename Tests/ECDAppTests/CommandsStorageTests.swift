import ECDSQLite
import Foundation
import Testing

/// A configuration in the environment only, with its database inside `folder`.
enum DaemonEnvironment {
    static func make(_ folder: TemporaryFolder, extra: [String: String] = [:]) -> [String: String] {
        [
            "ECD_CRONOFY_CLIENT_ID": "sim_client_id",
            "ECD_CRONOFY_CLIENT_SECRET": "sim_client_secret",
            "ECD_CRONOFY_API_URL": "http://127.0.0.1:9",
            "ECD_CRONOFY_APP_URL": "http://127.0.0.1:9",
            "ECD_PUBLIC_LISTEN": "127.0.0.1:0",
            "ECD_PUBLIC_BASE_URL": "http://127.0.0.1:8080",
            "ECD_INTERNAL_LISTEN": "127.0.0.1:0",
            "ECD_INTERNAL_API_KEYS": #"["daemon-test-key-0123456789abcdefghij0123456789"]"#,
            "ECD_STORAGE_PATH": folder.url.appendingPathComponent("db/ecd.sqlite").path,
            "ECD_STORAGE_ENCRYPTION_KEYS": #"[{"id":"k1","key":"\#(ConfigFixtures.keyBase64)"}]"#,
            "ECD_LOG_FORMAT": "json",
        ].merging(extra) { _, new in new }
    }
}

/// The database subcommands: migrate, backup, keys rewrap.
@Suite("ecd storage commands", .serialized)
struct CommandsStorageTests {
    @Test("the storage subcommands are listed by --help")
    func help() async throws {
        let result = try await ECDBinary.run(["--help"])
        for name in ["migrate", "keys", "backup"] {
            #expect(result.stdout.contains("  \(name) "), "\(name) missing")
        }
        #expect(try await ECDBinary.run(["keys", "rewrap", "--help"]).code == 0)
    }

    @Test("migrate creates the schema, is idempotent, and makes the file private")
    func migrate() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let environment = DaemonEnvironment.make(folder)
        let first = try await ECDBinary.run(["migrate"], environment: environment)
        #expect(first.code == 0, "\(first.stderr)")
        #expect(first.stdout.contains("schema migrated from version 0 to"))
        let second = try await ECDBinary.run(["migrate"], environment: environment)
        #expect(second.code == 0)
        #expect(second.stdout.contains("schema already at version"))
        let attributes = try FileManager.default.attributesOfItem(atPath: environment["ECD_STORAGE_PATH"]!)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test("migrate needs no Cronofy settings, but a bad key still fails with its name")
    func migrateModes() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.url.appendingPathComponent("m.sqlite").path
        #expect(try await ECDBinary.run(["migrate"], environment: ["ECD_STORAGE_PATH": path]).code == 0)
        let bad = try await ECDBinary.run(["migrate"], environment: ["ECD_STORAGE_PATH": path, "ECD_LOG_LEVEL": "chatty"])
        #expect(bad.code == 1)
        #expect(bad.stderr.contains("\nECD_LOG_LEVEL: must be one of"))
    }

    @Test("backup copies the database; it fails when there is none")
    func backup() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let environment = DaemonEnvironment.make(folder)
        let source = try #require(environment["ECD_STORAGE_PATH"])
        let target = folder.url.appendingPathComponent("copy.sqlite").path
        let missing = try await ECDBinary.run(["backup", "--to", target], environment: environment)
        #expect(missing.code == 1)
        #expect(missing.stderr.contains("no database at"))
        #expect(try await ECDBinary.run(["migrate"], environment: environment).code == 0)

        // A live writer holds the database open while the copy is taken, so its last commits sit
        // in the WAL file only: a copy of the main file alone would miss them.
        let live = try Database(path: source)
        defer { live.close() }
        let rows = (0..<300).map { "row-\($0)-\(UUID().uuidString)" }
        try await live.asyncWrite { connection in
            try connection.execute("CREATE TABLE backup_probe (id INTEGER PRIMARY KEY, value TEXT NOT NULL)")
            for row in rows { try connection.execute("INSERT INTO backup_probe (value) VALUES (?)", [row]) }
        }
        #expect((try FileManager.default.attributesOfItem(atPath: source + "-wal")[.size] as? Int ?? 0) > 0)

        let result = try await ECDBinary.run(["backup", "--to", target], environment: environment)
        #expect(result.code == 0, "\(result.stderr)")
        #expect((try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int) == 0o600)
        let copy = try Database(path: target)
        defer { copy.close() }
        #expect(try copy.integrityCheck() == ["ok"])
        #expect(try copy.userVersion == (try live.userVersion))
        #expect(try copy.userVersion > 0)
        let tables = { (database: Database) throws -> [String] in
            try database.read { try $0.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").compactMap { $0.optional("name") as String? } }
        }
        #expect(try tables(copy) == (try tables(live)))
        #expect(try tables(copy).contains("accounts"))
        let copied = try await copy.asyncRead { try $0.query("SELECT value FROM backup_probe ORDER BY id").compactMap { $0.optional("value") as String? } }
        #expect(copied == rows)

        #expect(try await ECDBinary.run(["backup"], environment: environment).code == 2)
        let itself = try await ECDBinary.run(["backup", "--to", source], environment: environment)
        #expect(itself.code == 1)
    }

    @Test("keys rewrap reports a JSON summary and needs the keyring")
    func rewrap() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var environment = DaemonEnvironment.make(folder)
        #expect(try await ECDBinary.run(["migrate"], environment: environment).code == 0)
        let result = try await ECDBinary.run(["keys", "rewrap"], environment: environment)
        #expect(result.code == 0, "\(result.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(summary["primary_key_id"] as? String == "k1")
        #expect(summary["total"] as? Int == 0)
        environment["ECD_STORAGE_ENCRYPTION_KEYS"] = nil
        let noKeys = try await ECDBinary.run(["keys", "rewrap"], environment: environment)
        #expect(noKeys.code == 1)
        #expect(noKeys.stderr.contains("\nstorage.encryption_keys: required"))
    }
}
