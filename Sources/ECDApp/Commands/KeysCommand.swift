import ArgumentParser
import ECDCore
import ECDCrypto
import ECDSQLite
import Foundation

/// `ecd keys rewrap`: move every stored secret to the keyring's first key.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the storage encryption keyring.",
        subcommands: [Rewrap.self])

    struct Rewrap: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-encrypt every stored token with the first key of storage.encryption_keys.",
            discussion: """
                Rotation: put the new key first, restart the daemon, run this, then remove the old key. \
                Prints a JSON report: how many secrets moved per table and how many were already current.
                """)

        @OptionGroup var config: ConfigOptions

        func run() throws {
            let configuration = try config.load(mode: .keyring)
            let path = configuration.storage.path
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("no database at \(path) (storage.path)")
            }
            let keyring: Keyring
            do {
                keyring = try Keyring(keys: configuration.storage.encryptionKeys.map { Keyring.Key(id: $0.id, bytes: $0.bytes) })
            } catch {
                throw CommandFailure("storage.encryption_keys: \(error)")
            }
            let report: RewrapReport
            do {
                let database = try Database(path: path)
                defer { database.close() }
                try CoreSchema.migrate(database)
                report = try SecretRewrap.run(database: database, keyring: keyring)
            } catch {
                throw CommandFailure("cannot rewrap \(path): \(error)")
            }
            let summary = RewrapSummary(
                primaryKeyID: keyring.primaryKeyID, rewrapped: report.rewrapped, total: report.total,
                alreadyCurrent: report.alreadyCurrent)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            StandardStreams.out(String(decoding: try encoder.encode(summary), as: UTF8.self))
        }
    }

    struct RewrapSummary: Encodable {
        let primaryKeyID: String
        let rewrapped: [String: Int]
        let total: Int
        let alreadyCurrent: Int
        enum CodingKeys: String, CodingKey {
            case primaryKeyID = "primary_key_id", rewrapped, total, alreadyCurrent = "already_current"
        }
    }
}
