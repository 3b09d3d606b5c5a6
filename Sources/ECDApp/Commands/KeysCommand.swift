import ArgumentParser
import ECDCore
import ECDCrypto
import ECDHTTP
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
                Rotation: put the new key first, send the daemon SIGHUP (it reloads the keyring), run this, then \
                remove the old key once secrets_by_key_id no longer names it and send SIGHUP again. When a daemon \
                holds the database this asks it to rewrap (POST /v1/admin/keys/rewrap on its internal listener, \
                found like the other clients find it: --url, ECD_URL, internal.listen; the API key from \
                --api-key-file or ECD_API_KEY); otherwise it rewraps the database itself, holding it meanwhile. \
                Works in batches of a few hundred rows, one short transaction each; an interrupted run is \
                finished by running it again. Prints a JSON report: secrets moved per table and per previous \
                key id, secrets already current, and secrets per key id afterwards.
                """)

        @OptionGroup var config: ConfigOptions

        @Option(help: ArgumentHelp(
            "The running daemon's internal API, when it holds the database: http://HOST:PORT or unix:PATH (default: ECD_URL, else internal.listen).",
            valueName: "url"))
        var url: String?

        @Option(name: .customLong("api-key-file"), help: ArgumentHelp(
            "A file holding an API key of the running daemon on its first line (default: ECD_API_KEY).", valueName: "path"))
        var apiKeyFile: String?

        @Option(help: ArgumentHelp("Seconds to wait for the daemon's rewrap.", valueName: "seconds"))
        var timeout = 3600

        func run() throws {
            // The keyring is needed only to rewrap locally: a daemon that holds the database uses its own.
            let configuration = try config.load(mode: .database)
            // PostgreSQL is shared by running nodes, never "held by none": one of them rewraps,
            // one short transaction per batch, beside the others.
            if configuration.storage.driver == .postgres {
                try throughDaemon(configuration, reason: "storage.driver is \"postgres\": a running node rewraps it")
                return
            }
            let path = configuration.storage.path
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("no database at \(path) (storage.path)")
            }
            let lock: DatabaseLock
            do {
                lock = try DatabaseLock.acquire(databasePath: path)
            } catch .inUse(let database, let pid) {
                try throughDaemon(configuration, reason: "\(DatabaseLockError.inUse(database, pid: pid))")
                return
            } catch {
                throw CommandFailure("\(error)")
            }
            defer { lock.release() }
            guard !configuration.storage.encryptionKeys.isEmpty else {
                throw CommandFailure(lines: ["configuration has 1 problem:",
                                             "storage.encryption_keys: required (to rewrap a database no daemon holds)"])
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
            StandardStreams.out(String(decoding: try RewrapSummary(primaryKeyID: keyring.primaryKeyID, report).encoded(), as: UTF8.self))
        }

        /// A daemon holds the database: it rewraps, with its keyring, while it serves. The key the
        /// operator's configuration puts first goes along, so a daemon not yet reloaded says so
        /// instead of moving secrets to its older key.
        private func throughDaemon(_ configuration: AppConfiguration, reason held: String) throws {
            var arguments = ["--timeout", String(timeout)]
            if let url { arguments += ["--url", url] }
            if let apiKeyFile { arguments += ["--api-key-file", apiKeyFile] }
            if let path = config.path { arguments += ["--config", path] }
            let client: InternalAPIClient
            do {
                client = try ClientOptions.parse(arguments).client()
            } catch let failure as CommandFailure {
                throw CommandFailure(lines: ["\(held); asking it to rewrap needs its internal API:"] + failure.lines)
            }
            StandardStreams.error("\(held): asking it to rewrap")
            let body = configuration.storage.encryptionKeys.first.map { #"{"primary_key_id":\#(JSONString.quote($0.id))}"# }
            printResponse(try client.send("POST", "/v1/admin/keys/rewrap", json: body.map { Array($0.utf8) }))
        }
    }
}
