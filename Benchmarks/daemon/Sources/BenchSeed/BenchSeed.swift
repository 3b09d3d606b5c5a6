import ECDCrypto
import ECDSQLite
import Foundation

/// `BenchSeed --database PATH --keys-file PATH --total N`
///
/// Grows the `accounts` table of a stopped daemon's database to N rows by cloning its first
/// active account: same service account, scope, profile and expiry, a new email
/// (`seedNNNNNNN@example.com`), new ids and new random tokens sealed with the daemon's keyring
/// under the daemon's associated data (`accounts|<row id>|<column>`), so every row is one the
/// daemon can open and serve. Rows are inserted 5,000 per transaction. The tokens are unknown to
/// Cronofy (or the simulator): the benchmark keeps them far from expiry so they are never refreshed.
@main
struct BenchSeed {
    static func main() {
        do {
            let options = try Options(CommandLine.arguments.dropFirst())
            let inserted = try seed(options)
            print("accounts: \(options.total) (\(inserted) inserted)")
        } catch {
            FileHandle.standardError.write(Data("BenchSeed: \(error)\n".utf8))
            exit(1)
        }
    }

    static func seed(_ options: Options) throws -> Int {
        let keyring = try loadKeyring(options.keysFile)
        let database = try Database(path: options.database)
        defer { database.close() }
        let (template, existing, maxID) = try database.read { connection in
            guard let template = try connection.queryOne(
                "SELECT * FROM accounts WHERE status = 'active' AND access_token IS NOT NULL ORDER BY id LIMIT 1")
            else { throw SeedError("no active account to clone: seed at least one through the daemon first") }
            let count: Int64 = try connection.queryOne("SELECT count(*) AS n FROM accounts")!.get("n")
            let maxID: Int64 = try connection.queryOne("SELECT max(id) AS m FROM accounts")!.get("m")
            return (template, Int(count), maxID)
        }
        // The template must open with this keyring, or every clone would be unreadable too.
        let templateID: Int64 = try template.get("id")
        _ = try keyring.open(try template.get("access_token"), associatedData: associatedData(templateID, "access_token"))

        let missing = options.total - existing
        guard missing > 0 else { return 0 }
        var next = maxID + 1
        var remaining = missing
        while remaining > 0 {
            let batch = min(remaining, 5_000)
            try database.write { connection in
                for _ in 0..<batch {
                    try insertClone(connection, of: template, id: next, keyring: keyring)
                    next += 1
                }
            }
            remaining -= batch
        }
        return missing
    }

    static func insertClone(_ connection: Connection, of template: Row, id: Int64, keyring: Keyring) throws {
        let email = "seed\(String(id).leftPadded(to: 7))@example.com"
        let accountID = "acc_" + hex(try SecureRandom.bytes(12))
        let access = try keyring.seal(Array(try randomToken().utf8), associatedData: associatedData(id, "access_token"))
        let refresh = try keyring.seal(Array(try randomToken().utf8), associatedData: associatedData(id, "refresh_token"))
        try connection.execute(
            """
            INSERT INTO accounts (id, email, email_key, service_account_id, status, scope, account_id, sub, profile,
                request_id, request_sent_at, access_token, refresh_token, key_id, expires_at, last_used_at,
                requested_at, authorized_at, updated_at)
            VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)
            """,
            [id, email, email.lowercased(), template["service_account_id"], template["scope"], accountID, accountID,
             template["profile"], try SecureRandom.token(), template["request_sent_at"], access, refresh,
             keyring.primaryKeyID, template["expires_at"], template["requested_at"], template["authorized_at"],
             template["updated_at"]])
    }

    static func associatedData(_ id: Int64, _ column: String) -> [UInt8] {
        Array("accounts|\(id)|\(column)".utf8)
    }

    /// 32 ASCII alphanumerics, like Cronofy's (and the simulator's) tokens.
    static func randomToken() throws -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return String(decoding: try SecureRandom.bytes(32).map { alphabet[Int($0) % alphabet.count] }, as: UTF8.self)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// The daemon's `storage.encryption_keys` file: `[{"id":"k1","key":"<base64 of 32 bytes>"}]`.
    static func loadKeyring(_ path: String) throws -> Keyring {
        struct Entry: Decodable { let id: String; let key: String }
        let entries = try JSONDecoder().decode([Entry].self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
        return try Keyring(keys: try entries.map { try Keyring.Key(id: $0.id, base64: $0.key) })
    }
}

struct SeedError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct Options {
    var database = ""
    var keysFile = ""
    var total = 0

    init<S: Sequence<String>>(_ arguments: S) throws {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { throw SeedError("\(flag) needs a value") }
            switch flag {
            case "--database": database = value
            case "--keys-file": keysFile = value
            case "--total":
                guard let n = Int(value), n > 0 else { throw SeedError("--total: \(value) is not a positive number") }
                total = n
            default: throw SeedError("unknown option \(flag)")
            }
        }
        guard !database.isEmpty, !keysFile.isEmpty, total > 0 else {
            throw SeedError("usage: BenchSeed --database PATH --keys-file PATH --total N")
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
