import ECDSQLite
import Glibc

/// The victim of the crash test: commits rows forever, alternating single-row transactions and
/// batches, and after each COMMIT returns writes `batch first last` to stdout with one write(2)
/// (no buffering), so every line the parent reads names a commit that SQLite acknowledged.
/// Rows carry their batch size, so the parent can also check that no batch is partly there.
enum CrashChild {
    static let migrations = [
        Migration(version: 1, name: "rows", sql: """
            CREATE TABLE rows (
                id INTEGER PRIMARY KEY,
                batch INTEGER NOT NULL,
                batch_size INTEGER NOT NULL,
                payload BLOB NOT NULL
            );
            CREATE INDEX rows_batch ON rows(batch);
            """),
    ]

    static func run(path: String) throws {
        let database = try Database(path: path)
        try database.migrate(migrations)
        var (nextID, nextBatch) = try database.read { connection -> (Int64, Int64) in
            let row = try connection.queryOne("SELECT coalesce(max(id), 0) + 1 AS id, coalesce(max(batch), 0) + 1 AS batch FROM rows")
            return (try row?.get("id") ?? 1, try row?.get("batch") ?? 1)
        }
        var generator = SystemRandomNumberGenerator()
        let payload = [UInt8](repeating: 0xA5, count: 200)
        while true {
            // Half the transactions hold one row, half a batch of 2…64 rows (group commit).
            let size = Bool.random(using: &generator) ? 1 : Int64.random(in: 2...64, using: &generator)
            let first = nextID, batch = nextBatch
            try database.write { connection in
                for id in first..<(first + size) {
                    try connection.execute("INSERT INTO rows (id, batch, batch_size, payload) VALUES (?, ?, ?, ?)",
                                           [id, batch, size, payload])
                }
            }
            report("\(batch) \(first) \(first + size - 1)\n")
            nextID += size
            nextBatch += 1
        }
    }

    private static func report(_ line: String) {
        var line = line
        line.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    exit(2)   // parent gone
                }
                offset += written
            }
        }
    }
}
