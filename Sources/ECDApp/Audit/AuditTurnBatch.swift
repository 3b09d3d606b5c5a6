import ECDHTTP
import Logging

/// The audit lines of the token reads one event-loop turn answers, written to the log with one
/// `write(2)` when the turn's events are handled (``LoopTurn``) instead of one write per read.
///
/// The rule stays the README's: each read's response is held until its line is written, and when
/// the batch's write fails every read of the batch is answered `503 audit_unavailable` instead (a
/// line the failed write left on disk is an answer withheld, never a token handed out unrecorded).
/// Nothing is synced here: the log's flusher syncs within a second, as for a single line.
final class AuditTurnBatch: TurnBatch {
    private let log: AuditLog
    private let logger: Logger?
    private(set) var entries: [AuditEntry] = []

    init(log: AuditLog, logger: Logger?) {
        self.log = log
        self.logger = logger
        entries.reserveCapacity(32)
    }

    /// Stages `entry` on `turn` and holds the request's response until they are written.
    static func stage(_ entry: AuditEntry, on turn: LoopTurn, log: AuditLog, logger: Logger?) {
        let batch = turn.batch(for: log) { AuditTurnBatch(log: log, logger: logger) }
        batch.entries.append(entry)
        turn.hold(until: batch, fallback: refusal)
    }

    func commit() -> Bool {
        do {
            try log.record(entries)
            return true
        } catch {
            logger?.error("audit log write failed; the answers were withheld",
                          metadata: ["error": "\(error)", "answers": "\(entries.count)"])
            return false
        }
    }

    /// A read's answer when its line cannot be written (made once: every held read carries it).
    static let refusal = APIError.auditUnavailable().response
}
