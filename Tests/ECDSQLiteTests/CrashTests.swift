import ECDSQLite
import ECDTestSupport
import Foundation
import Testing

/// Durability under `kill -9`: a child process (ECDSQLiteTool crash-child) commits rows — single
/// rows and batches — and reports each commit on stdout after COMMIT returns. The parent kills it
/// at a random moment, reopens the database, and checks that every reported commit is there,
/// that no batch is partly there, and that `PRAGMA integrity_check` says ok. The same database
/// goes through every round, so each round also recovers the previous crash's WAL.
///
/// Rounds: `ECD_CRASH_ROUNDS` (default 20), bounded by `ECD_CRASH_SECONDS` (default 40).
@Suite("Crash durability (kill -9)")
struct CrashTests {
    /// Every wait here suspends (Task.sleep polling) and every blocking step (opening and reading
    /// the database, draining pipes) runs on a thread of its own: this test runs for seconds, and
    /// holding one of the cooperative pool's two threads that long would stall every other test.
    @Test func everyReportedCommitSurvivesKill9() async throws {
        let environment = ProcessInfo.processInfo.environment
        let rounds = environment["ECD_CRASH_ROUNDS"].flatMap(Int.init) ?? 20
        let budget = Duration.seconds(environment["ECD_CRASH_SECONDS"].flatMap(Int.init) ?? 40)
        let tool = try #require(Self.toolURL(), "ECDSQLiteTool not found next to the test bundle")
        let folder = TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.file("crash.sqlite")

        let start = ContinuousClock.now
        var verified = 0, roundsRun = 0, roundsWithCommits = 0
        while roundsRun < rounds, ContinuousClock.now - start < budget {
            let commits = try await Self.runAndKill(tool: tool, path: path, after: .milliseconds(Int.random(in: 20...500)))
            let findings = try await onOwnThread { try Self.inspect(path: path, commits: commits) }
            #expect(findings.integrity == ["ok"])
            if findings.schemaPresent {
                #expect(findings.missing.isEmpty, "reported commits are missing: \(findings.missing)")
                #expect(findings.partialBatches == 0, "a batch was partly committed")
                #expect(findings.rowCount == findings.topID, "row ids are not contiguous")
                verified += commits.count
            } else {
                #expect(commits.isEmpty, "commits reported but the schema is missing")
            }
            roundsRun += 1
            if !commits.isEmpty { roundsWithCommits += 1 }
        }
        #expect(roundsRun >= min(rounds, 3))
        #expect(roundsWithCommits > 0, "the child never committed before being killed")
        #expect(verified > 0)
    }

    struct Commit: Sendable, CustomStringConvertible {
        let batch: Int64, first: Int64, last: Int64
        var description: String { "batch \(batch) rows \(first)...\(last)" }
    }

    /// Starts the child, kills it with SIGKILL after `delay`, and returns the commits it reported.
    static func runAndKill(tool: URL, path: String, after delay: Duration) async throws -> [Commit] {
        let process = Process()
        process.executableURL = tool
        process.arguments = ["crash-child", path]
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let output = PipeCollector(stdout.fileHandleForReading)
        let errors = PipeCollector(stderr.fileHandleForReading)
        try process.run()
        try await Task.sleep(for: delay)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        // SIGKILL cannot be caught, so this ends promptly; the bound only guards a broken kill.
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        try #require(!process.isRunning, "the child survived SIGKILL for 30 s")
        process.waitUntilExit()   // already exited: returns at once and settles the status
        let text = String(decoding: try await output.eof(), as: UTF8.self)
        let errorText = String(decoding: try await errors.eof(), as: UTF8.self)
        #expect(process.terminationReason == .uncaughtSignal,
                "child exited on its own (status \(process.terminationStatus)): \(errorText)")

        // Only complete lines count: a line cut by the kill was never fully reported.
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()
        return try lines.map { line in
            let fields = line.split(separator: " ").compactMap { Int64($0) }
            guard fields.count == 3 else { throw CrashTestError.badLine(String(line)) }
            return Commit(batch: fields[0], first: fields[1], last: fields[2])
        }
    }

    /// What the reopened database says about the reported commits.
    struct Findings: Sendable {
        var integrity: [String]
        var schemaPresent: Bool
        var missing: [Commit] = []
        var partialBatches: Int64 = -1
        var rowCount: Int64? = nil
        var topID: Int64? = nil
    }

    /// Reopens the database (recovering the killed child's WAL) and examines it. Synchronous:
    /// callers run it off the cooperative pool.
    static func inspect(path: String, commits: [Commit]) throws -> Findings {
        let database = try Database(path: path)
        defer { database.close() }
        var findings = Findings(integrity: try database.integrityCheck(), schemaPresent: try database.userVersion > 0)
        guard findings.schemaPresent else { return findings }
        try database.read { connection in
            for commit in commits {
                let present: Int64 = try connection.queryOne(
                    "SELECT count(*) AS n FROM rows WHERE id BETWEEN ? AND ? AND batch = ?",
                    [commit.first, commit.last, commit.batch])?.get("n") ?? 0
                if present != commit.last - commit.first + 1 { findings.missing.append(commit) }
            }
            findings.partialBatches = try connection.queryOne("""
                SELECT count(*) AS n FROM (SELECT batch FROM rows GROUP BY batch HAVING count(*) != max(batch_size))
                """)?.get("n") ?? -1
            let shape = try connection.queryOne("SELECT count(*) AS n, coalesce(max(id), 0) AS top FROM rows")
            findings.rowCount = try shape?.get("n")
            findings.topID = try shape?.get("top")
        }
        return findings
    }

    /// The helper executable sits in the same build products folder as the test bundle.
    static func toolURL() -> URL? {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = bundle.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("ECDSQLiteTool")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }
}

enum CrashTestError: Error { case badLine(String) }

/// Drains a pipe on its own thread so the child never blocks on a full pipe.
final class PipeCollector: @unchecked Sendable {
    struct Timeout: Error {}
    private let lock = NSLock()
    private var data = Data()
    private var finished = false

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData   // empty at EOF
                let done = lock.withLock {
                    if chunk.isEmpty { finished = true } else { data.append(chunk) }
                    return chunk.isEmpty
                }
                if done { return }
            }
        }
    }

    /// Everything read, once the writer has closed its end; polls with `Task.sleep` (a condition
    /// wait would block a cooperative thread) and gives up after 30 s.
    func eof() async throws -> Data {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if let all = lock.withLock({ finished ? data : nil }) { return all }
            guard ContinuousClock.now < deadline else { throw Timeout() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
