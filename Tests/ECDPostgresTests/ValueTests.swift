import ECDPostgres
import ECDTestSupport
import Foundation
import Testing

@Suite("PostgreSQL values")
struct ValueTests {
    @Test func everyValueTypeRoundTripsThroughTypedColumns() throws {
        try withPool { pool, _ in
            try pool.write { try $0.executeScript("""
                CREATE TABLE v (id SERIAL PRIMARY KEY, i BIGINT, small INTEGER, r DOUBLE PRECISION,
                                b BOOLEAN, t TEXT, bytes BYTEA)
                """) }
            let bytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x5C, 0x78]   // NUL, high bytes, "\x"
            let cases: [(Int64?, Int?, Double?, Bool?, String?, [UInt8]?)] = [
                (Int64.max, Int(Int32.max), 0.1, true, "héllo ✓ 'quoted' \\ \"x\"", bytes),
                (Int64.min, Int(Int32.min), -1.5e-300, false, "", []),
                (0, 0, .infinity, nil, "\\x41", [0x5C, 0x78, 0x34, 0x31]),
                (nil, nil, nil, nil, nil, nil),
            ]
            for (index, values) in cases.enumerated() {
                try pool.write { connection in
                    try connection.execute("INSERT INTO v (id, i, small, r, b, t, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                           [index, values.0, values.1, values.2, values.3, values.4, values.5])
                }
                let row = try #require(try pool.read { try $0.queryOne("SELECT * FROM v WHERE id = $1", [index]) })
                #expect(try row.get("i") as Int64? == values.0)
                #expect(try row.get("small") as Int? == values.1)
                #expect(try row.get("r") as Double? == values.2)
                #expect(try row.get("b") as Bool? == values.3)
                #expect(try row.get("t") as String? == values.4)
                #expect(try row.get("bytes") as [UInt8]? == values.5)
            }
            // NULL reads as NULL, not as an empty string or a zero.
            let nullRow = try #require(try pool.read { try $0.queryOne("SELECT t, bytes, i FROM v WHERE id = 3") })
            #expect(nullRow["t"] == .null && nullRow["bytes"] == .null && nullRow["i"] == .null)
            // Empty text and empty bytes are values, not NULL.
            let emptyRow = try #require(try pool.read { try $0.queryOne("SELECT t, bytes FROM v WHERE id = 1") })
            #expect(emptyRow["t"] == .text("") && emptyRow["bytes"] == .bytes([]))
        }
    }

    @Test func nanAndDatesAndDataRoundTrip() throws {
        try withPool { pool, _ in
            let row = try #require(try pool.read {
                try $0.queryOne("SELECT $1::float8 AS nan, $2::bigint AS at, $3::bytea AS data, $4::float8 AS minus",
                                [Double.nan, Date(timeIntervalSince1970: 1_700_000_000.123), Data([1, 2, 3]), -Double.infinity])
            })
            #expect((try row.get("nan") as Double).isNaN)
            #expect(try row.get("minus") as Double == -.infinity)
            #expect(try row.get("at") as Date == Date(timeIntervalSince1970: 1_700_000_000.123))
            #expect(try row.get("data") as Data == Data([1, 2, 3]))
        }
    }

    @Test func aValueOfAnotherTypeIsADecodingErrorNamingTheColumnNotTheValue() throws {
        try withPool { pool, _ in
            let row = try #require(try pool.read { try $0.queryOne("SELECT 'secret-value'::text AS token") })
            let error = expectPostgresError { _ = try row.get("token") as Int64 }
            #expect(error?.kind == .decoding)
            #expect(error?.message.contains("token") == true)
            #expect(!"\(String(describing: error))".contains("secret-value"))
            #expect(row.optional("token") as Int64? == nil)
            #expect(expectPostgresError { _ = try row.get("missing") as String }?.kind == .decoding)
        }
    }

    @Test func textHoldingNULIsRefusedNotTruncated() throws {
        try withPool { pool, _ in
            let error = expectPostgresError {
                _ = try pool.read { try $0.query("SELECT $1::text", ["before\u{0}after"]) }
            }
            #expect(error?.sqlState == "22021")
            #expect(error.map { !$0.description.contains("before") } == true)
        }
    }
}
