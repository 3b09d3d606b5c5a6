import Foundation
import Testing
@testable import ECDApp

/// `storage.driver` and `storage.postgres.*` (issue 16): each driver takes only its own keys, the
/// URL comes from exactly one place, and its password is never printed.
@Suite("Configuration: storage drivers")
struct StorageConfigurationTests {
    static let password = "pgpw-Hq72-not-in-output"
    static let url = "postgresql://ecd:\(password)@db.internal:5432/ecd"

    static func storage(_ json: String) -> String {
        ConfigurationValidationTests.minimal(with: "storage", json)
    }

    static func storageWithKeys(_ fields: String) -> String {
        storage(#"{"encryption_keys": [{"id": "k1", "key": "\#(ConfigFixtures.keyBase64)"}]\#(fields.isEmpty ? "" : ", " + fields)}"#)
    }

    @Test func sqliteIsTheDefaultAndHasNoPostgresSettings() throws {
        let configuration = try ConfigFixtures.load(ConfigFixtures.minimalJSON)
        #expect(configuration.storage.driver == .sqlite)
        #expect(configuration.storage.postgres == nil)
        #expect(configuration.effectiveDescription().contains(#"storage.driver = "sqlite"  # default"#))
        #expect(configuration.effectiveDescription().contains("storage.postgres.url = null"))
    }

    @Test func postgresIsReadFromANestedObject() throws {
        let configuration = try ConfigFixtures.load(Self.storageWithKeys(
            #""driver": "postgres", "postgres": {"url": "\#(Self.url)", "pool_size": 12}"#))
        #expect(configuration.storage.driver == .postgres)
        let postgres = try #require(configuration.storage.postgres)
        #expect(postgres.url.url == Self.url)
        #expect(postgres.poolSize == 12)
        #expect(configuration.preflightProblems().isEmpty)
    }

    @Test func postgresFromTheEnvironmentAndAURLFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("pg_url", Self.url + "\n")
        let configuration = try ConfigFixtures.load(ConfigFixtures.minimalJSON, environment: [
            "ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL_FILE": path,
        ])
        #expect(configuration.storage.postgres?.url.url == Self.url)
        #expect(configuration.storage.postgres?.poolSize == PostgresSettings.defaultPoolSize)
        #expect(configuration.origins["storage.postgres.url"] == .referencedFile(path: path, via: "$ECD_STORAGE_POSTGRES_URL_FILE"))
    }

    @Test func checkConfigShowsTheURLWithoutItsPassword() throws {
        let configuration = try ConfigFixtures.load(Self.storageWithKeys(
            #""driver": "postgres", "postgres": {"url": "\#(Self.url)?password=\#(Self.password)2"}"#))
        let text = configuration.effectiveDescription()
        #expect(!text.contains("Hq72"), "\(text)")
        #expect(text.contains(#"storage.postgres.url = "postgresql://ecd:***@db.internal:5432/ecd""#), "\(text)")
        #expect(text.contains("storage.postgres.pool_size = 8  # default"), "\(text)")
        #expect(text.contains("storage.path = null"), "\(text)")
        #expect(configuration.effectiveDescription(redacted: false).contains(Self.password))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let fields: String
        let problem: String
        var testDescription: String { problem }
    }

    static let cases: [Case] = [
        Case(fields: #""driver": "mysql""#, problem: #"storage.driver: must be "sqlite" or "postgres""#),
        Case(fields: #""driver": "postgres""#,
             problem: "storage.postgres.url: required (set storage.postgres.url or storage.postgres.url_file)"),
        Case(fields: #""driver": "postgres", "postgres": {"url": "\#(url)", "url_file": "/run/x"}"#,
             problem: "storage.postgres.url: set both storage.postgres.url and storage.postgres.url_file; keep one"),
        Case(fields: #""driver": "postgres", "postgres": {"url": "mysql://ecd:\#(password)@db/ecd"}"#,
             problem: "storage.postgres.url: is not a postgresql:// URL"),
        Case(fields: #""driver": "postgres", "postgres": {"url": "postgresql://ecd:\#(password)@db/ecd?bogus=1"}"#,
             problem: "storage.postgres.url: is not a valid PostgreSQL URL (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMETERS])"),
        Case(fields: #""driver": "postgres", "postgres": {"url": "\#(url)", "pool_size": 0}"#,
             problem: "storage.postgres.pool_size: must be positive (connections)"),
        Case(fields: #""driver": "postgres", "postgres": {"url": "\#(url)", "pool_size": 65}"#,
             problem: "storage.postgres.pool_size: must be at most 64 (connections)"),
        Case(fields: #""driver": "postgres", "postgres": {"url": "\#(url)"}, "path": "/var/lib/ecd/ecd.sqlite""#,
             problem: #"storage.path: applies only to storage.driver "sqlite"; with "postgres" the database is storage.postgres.url (set audit.path for the audit log's place)"#),
        Case(fields: #""postgres": {"url": "\#(url)"}"#,
             problem: #"storage.postgres.url: applies only to storage.driver "postgres" (storage.driver is "sqlite")"#),
        Case(fields: #""driver": "sqlite", "postgres": {"pool_size": 4}"#,
             problem: #"storage.postgres.pool_size: applies only to storage.driver "postgres" (storage.driver is "sqlite")"#),
        Case(fields: #""postgres": "\#(url)""#, problem: "storage.postgres: must be an object, not a string"),
        Case(fields: #""driver": "postgres", "postgres": {"url": "\#(url)", "poolsize": 4}"#,
             problem: "storage.postgres.poolsize: unknown key; did you mean storage.postgres.pool_size?"),
    ]

    @Test(arguments: cases)
    func aProblemNamesItsKeyAndNeverThePassword(_ testCase: Case) {
        let problems = ConfigFixtures.problems(Self.storageWithKeys(testCase.fields))
        #expect(problems.contains(testCase.problem), "\(problems)")
        #expect(!problems.joined().contains("Hq72"), "\(problems)")
    }

    @Test func anEnvironmentVariableIsNamedInItsProblem() {
        let problems = ConfigFixtures.problems(ConfigFixtures.minimalJSON, environment: [
            "ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": Self.url, "ECD_STORAGE_POSTGRES_POOL_SIZE": "many",
        ])
        #expect(problems == ["ECD_STORAGE_POSTGRES_POOL_SIZE: must be an integer"], "\(problems)")
    }
}
