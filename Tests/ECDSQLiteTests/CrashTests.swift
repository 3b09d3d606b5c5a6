import ECDSQLite
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
    @Test func everyReportedCommitSurvivesKill9() throws {
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
            let commits = try Self.runAndKill(tool: tool, path: path, after: .milliseconds(Int.random(in: 20...500)))
            verified += try Self.verify(path: path, commits: commits)
            roundsRun += 1
            if !commits.isEmpty { roundsWithCommits += 1 }
        }
        #expect(roundsRun >= min(rounds, 3))
        #expect(roundsWithCommits > 0, "the child never committed before being killed")
        #expect(verified > 0)
    }

    struct Commit { let batch: Int64, first: Int64, last: Int64 }

    /// Starts the child, kills it with SIGKILL after `delay`, and returns the commits it reported.
    static func runAndKill(tool: URL, path: String, after delay: Duration) throws -> [Commit] {
        let process = Process()
        process.executableURL = tool
        process.arguments = ["crash-child", path]
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let output = PipeCollector(stdout.fileHandleForReading)
        let errors = PipeCollector(stderr.fileHandleForReading)
        try process.run()
        Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let text = String(decoding: output.waitForEOF(), as: UTF8.self)
        let errorText = String(decoding: errors.waitForEOF(), as: UTF8.self)
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

    /// Checks the reopened database; returns how many reported commits it verified.
    static func verify(path: String, commits: [Commit]) throws -> Int {
        let database = try Database(path: path)
        defer { database.close() }
        #expect(try database.integrityCheck() == ["ok"])
        guard try database.userVersion > 0 else {
            #expect(commits.isEmpty, "commits reported but the schema is missing")
            return 0
        }
        return try database.read { connection in
            for commit in commits {
                let present: Int64 = try connection.queryOne(
                    "SELECT count(*) AS n FROM rows WHERE id BETWEEN ? AND ? AND batch = ?",
                    [commit.first, commit.last, commit.batch])?.get("n") ?? 0
                #expect(present == commit.last - commit.first + 1, "reported commit \(commit) is missing")
            }
            let partial: Int64 = try connection.queryOne("""
                SELECT count(*) AS n FROM (SELECT batch FROM rows GROUP BY batch HAVING count(*) != max(batch_size))
                """)?.get("n") ?? -1
            #expect(partial == 0, "a batch was partly committed")
            let shape = try connection.queryOne("SELECT count(*) AS n, coalesce(max(id), 0) AS top FROM rows")
            #expect(shape?["n"] == shape?["top"], "row ids are not contiguous")
            return commits.count
        }
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
    private let lock = NSCondition()
    private var data = Data()
    private var finished = false

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData   // empty at EOF
                lock.lock()
                if chunk.isEmpty {
                    finished = true
                    lock.broadcast()
                    lock.unlock()
                    return
                }
                data.append(chunk)
                lock.unlock()
            }
        }
    }

    func waitForEOF() -> Data {
        lock.lock()
        defer { lock.unlock() }
        while !finished { lock.wait() }
        return data
    }
}
