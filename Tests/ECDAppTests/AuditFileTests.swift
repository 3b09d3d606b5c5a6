import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// The audit log's file: opening reads only its end, whatever its size; a line torn by a crash
/// neither breaks the numbering nor hides the next line from a page; pages are found by a binary
/// search that agrees with reading the whole file.
@Suite("The audit log's file")
struct AuditFileTests {
    static func line(_ id: Int64) -> String {
        AuditEntry(action: "account.token.read", key: "billing", target: "user\(id)@example.com", status: 200,
                   requestID: "r\(id)", client: "127.0.0.1").line(id: id, time: Date(timeIntervalSince1970: 1_790_000_000)) + "\n"
    }

    static func ids(_ lines: [String]) -> [Int64] {
        lines.compactMap { AuditLog.id(of: Array($0.utf8)[...]) }
    }

    @Test("opening a 40 MB log reads only its end and numbering goes on")
    func largeLogOpensFromTheEnd() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.url.appendingPathComponent("audit.log").path
        let count: Int64 = 200_000
        var text = ""
        text.reserveCapacity(Int(count) * 200)
        for id in 1...count { text += Self.line(id) }
        _ = try folder.write("audit.log", text)
        let size = Int64(text.utf8.count)
        #expect(size > 30_000_000)

        let log = try AuditLog(path: path)
        defer { log.close() }
        #expect(log.lastID == count)
        #expect(log.bytesReadAtOpen <= 2 * Int64(AuditFileReader.chunk), "read \(log.bytesReadAtOpen) of \(size) bytes")
        try log.record([AuditEntry(action: "account.refresh", key: "#1", target: "a@example.com", status: 200,
                                   requestID: "x", client: "unix")])
        #expect(log.lastID == count + 1)
        #expect(Self.ids(try log.page(after: 123_456, limit: 3).lines) == [123_457, 123_458, 123_459])
        let last = try log.page(after: count - 1, limit: 100)
        #expect(Self.ids(last.lines) == [count, count + 1] && last.nextAfter == count + 1)
        let none = try log.page(after: count + 1, limit: 100)
        #expect(none.lines.isEmpty && none.nextAfter == count + 1)
    }

    @Test("a line torn by a crash: the next line starts whole, ids go on from the last whole line, pages skip the fragment")
    func tornLastLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.url.appendingPathComponent("audit.log").path
        let whole = (1...5).map { Self.line($0) }.joined()
        // The crash cut line 6 short: no newline, not JSON.
        _ = try folder.write("audit.log", whole + String(Self.line(6).prefix(40)))
        do {
            let log = try AuditLog(path: path)
            #expect(log.lastID == 5)
            try log.record([AuditEntry(action: "account.refresh", key: "#1", target: "b@example.com", status: 200,
                                       requestID: "y", client: "unix")])
            #expect(log.lastID == 6)
            let page = try log.page(after: 0, limit: 100)
            #expect(Self.ids(page.lines) == [1, 2, 3, 4, 5, 6])
            #expect(page.lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
            #expect(Self.ids(try log.page(after: 5, limit: 100).lines) == [6])
            log.close()
        }
        // Torn again after the fragment of the first crash: still one line per id, in order.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(Self.line(7).prefix(12).utf8))
        try handle.close()
        let reopened = try AuditLog(path: path)
        defer { reopened.close() }
        #expect(reopened.lastID == 6)
        try reopened.record([AuditEntry(action: "account.revoke", key: "#1", target: "c@example.com", status: 200,
                                        requestID: "z", client: "unix")])
        #expect(Self.ids(try reopened.page(after: 0, limit: 100).lines) == [1, 2, 3, 4, 5, 6, 7])
        #expect(Self.ids(try reopened.page(after: 6, limit: 1).lines) == [7])
    }

    @Test("every page found by the binary search is the page a full read finds, fragments anywhere")
    func binarySearchAgreesWithAFullRead() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.url.appendingPathComponent("audit.log").path
        var text = ""
        var generator = SystemRandomNumberGenerator()
        let count: Int64 = 3_000
        for id in 1...count {
            text += Self.line(id)
            // Fragments of failed writes and crashes, some with an id, some with none.
            if Int.random(in: 0..<50, using: &generator) == 0 { text += String(Self.line(id + 1).prefix(30)) + "\n" }
            if Int.random(in: 0..<200, using: &generator) == 0 { text += "{\"id\n" }
        }
        _ = try folder.write("audit.log", text)
        let log = try AuditLog(path: path)
        defer { log.close() }
        #expect(log.lastID == count)
        for after in stride(from: Int64(0), through: count + 1, by: 7) {
            let page = try log.page(after: after, limit: 5)
            let expected = Array((after + 1...max(after + 1, min(count, after + 5))).filter { $0 <= count })
            #expect(Self.ids(page.lines) == expected, "after \(after)")
            #expect(page.nextAfter == (expected.last ?? after))
        }
    }
}
