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
                Rotation: put the new key first, restart the daemon, run this, then remove the old key once \
                secrets_by_key_id no longer names it. Works in batches of a few hundred rows, one short \
                transaction each, so a running daemon keeps answering; an interrupted run is finished by \
                running it again. Prints a JSON report: secrets moved per table and per previous key id, \
                secrets already current, and secrets per key id afterwards.
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
                keyring = try configuration.storage.keyring()
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
                alreadyCurrent: report.alreadyCurrent, rewrappedFromKeyIDs: report.rewrappedFromKeyIDs,
                secretsByKeyID: report.secretsByKeyID, batches: report.batches)
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
        let rewrappedFromKeyIDs: [String: Int]
        let secretsByKeyID: [String: Int]
        let batches: Int
        enum CodingKeys: String, CodingKey {
            case primaryKeyID = "primary_key_id", rewrapped, total, alreadyCurrent = "already_current"
            case rewrappedFromKeyIDs = "rewrapped_from_key_ids", secretsByKeyID = "secrets_by_key_id", batches
        }
    }
}
