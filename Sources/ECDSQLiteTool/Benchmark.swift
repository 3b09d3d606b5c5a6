import ECDSQLite
import Glibc

/// Measures what the daemon leans on: point lookups by a unique text key (an account's email)
/// and durable commits (WAL + synchronous=FULL), one row per transaction and grouped.
/// Prints a Markdown table; run through scripts/bench-sqlite.sh on a release build.
enum Benchmark {
    static let lookups = 20_000
    static let singleCommits = 300
    static let groupTransactions = 30
    static let groupSize = 100

    static func run(folder: String, sizes: [Int]) throws {
        print("| rows | lookups/s | µs/lookup | single-row commits/s | grouped rows/s (\(groupSize)/tx) | tx/s grouped |")
        print("|---:|---:|---:|---:|---:|---:|")
        for size in sizes {
            let path = folder + "/bench-\(size).sqlite"
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
            let database = try Database(path: path)
            defer {
                database.close()
                for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
            }
            try database.migrate([Migration(version: 1, name: "kv", sql: """
                CREATE TABLE kv (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, value BLOB NOT NULL);
                """)])
            try fill(database, rows: size)

            let lookupSeconds = try time {
                var found = 0
                for _ in 0..<lookups {
                    let email = key(Int.random(in: 0..<size))
                    let row = try database.read { try $0.queryOne("SELECT value FROM kv WHERE email = ?", [email]) }
                    if row != nil { found += 1 }
                }
                precondition(found == lookups, "lookup missed a row")
            }
            var next = size
            let singleSeconds = try time {
                for _ in 0..<singleCommits {
                    try database.write { try insert($0, index: next) }
                    next += 1
                }
            }
            let groupSeconds = try time {
                for _ in 0..<groupTransactions {
                    try database.write { connection in
                        for _ in 0..<groupSize {
                            try insert(connection, index: next)
                            next += 1
                        }
                    }
                }
            }
            let lookupRate = Double(lookups) / lookupSeconds
            print("| \(size) | \(format(lookupRate)) | \(format(1_000_000 / lookupRate, digits: 1)) "
                + "| \(format(Double(singleCommits) / singleSeconds)) "
                + "| \(format(Double(groupTransactions * groupSize) / groupSeconds)) "
                + "| \(format(Double(groupTransactions) / groupSeconds)) |")
        }
    }

    private static func fill(_ database: Database, rows: Int) throws {
        var index = 0
        while index < rows {
            try database.write { connection in
                for _ in 0..<min(10_000, rows - index) {
                    try insert(connection, index: index)
                    index += 1
                }
            }
        }
    }

    private static let value = [UInt8](repeating: 0x5A, count: 180)   // about one sealed token

    private static func insert(_ connection: Connection, index: Int) throws {
        try connection.execute("INSERT INTO kv (email, value) VALUES (?, ?)", [key(index), value])
    }

    private static func key(_ index: Int) -> String { "user\(index)@example.com" }

    private static func time(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    private static func format(_ value: Double, digits: Int = 0) -> String {
        var scaled = value
        for _ in 0..<digits { scaled *= 10 }
        let rounded = Int(scaled.rounded())
        guard digits > 0 else { return String(rounded) }
        var divisor = 1
        for _ in 0..<digits { divisor *= 10 }
        let fraction = String(rounded % divisor)
        return "\(rounded / divisor).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
    }
}
