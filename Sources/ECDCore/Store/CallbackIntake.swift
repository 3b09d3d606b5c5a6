import Dispatch
import ECDCrypto
import ECDSync
import FoundationEssentials

/// A delegated-access callback, checked and sealed, ready to be written to the inbox.
struct IntakeItem: Sendable {
    var requestID: String
    /// SHA-256 of the state the callback carried; nil when it carried none.
    var stateHash: [UInt8]?
    /// It carried a valid `Cronofy-HMAC-SHA256`.
    var signed: Bool
    /// SHA-256 of the code, or of the whole body of an error callback: the same content again is
    /// a duplicate, anything else is a callback of its own.
    var contentHash: [UInt8]
    /// The code sealed for `callback_inbox|<request>|code`; nil for an error callback.
    var codeEnvelope: [UInt8]?
    var error: AccountError?

    var kind: String { codeEnvelope == nil ? "error" : "code" }
}

enum IntakeOutcome: Sendable, Equatable {
    case accepted
    case duplicate
    case rejected(CoreError)
}

/// Group commit for the callback inbox. Every callback must be durable before its 200, and one
/// `fsync` per callback would cap intake at a few hundred a second; so callers queue their item
/// and wait, while a single writer task drains the queue into one transaction per round. Whatever
/// arrives during a commit goes into the next one, so batches grow exactly when load does.
final class CallbackIntake: Sendable {
    private struct Waiting {
        let item: IntakeItem
        let continuation: CheckedContinuation<IntakeOutcome, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var draining = false
    }

    private let state = Locked(State())
    private let storage: any CoreStorage
    private let metrics: CoreMetrics
    private let onAccepted: @Sendable () -> Void

    init(storage: any CoreStorage, metrics: CoreMetrics, onAccepted: @escaping @Sendable () -> Void) {
        self.storage = storage
        self.metrics = metrics
        self.onAccepted = onAccepted
    }

    /// Returns once the item is committed (or rejected); throws when the database write failed.
    func submit(_ item: IntakeItem) async throws -> IntakeOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let startDrain = state.withLock { state -> Bool in
                state.queue.append(Waiting(item: item, continuation: continuation))
                if state.draining { return false }
                state.draining = true
                return true
            }
            if startDrain { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                let batch = state.queue
                state.queue.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                let now = Date()
                let items = batch.map(\.item)
                let outcomes = try await storage.transaction { transaction in
                    try items.map { try Self.admit(transaction, $0, now: now) }
                }
                metrics.callbackCommit.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
                metrics.callbackBatchSize.record(batch.count)
                for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(returning: outcome) }
                if outcomes.contains(.accepted) { onAccepted() }
            } catch {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
            }
        }
    }

    /// The checks that need the database, then the insert; all inside the batch's transaction, so
    /// there is no window between check and write. A rejected callback writes nothing.
    ///
    /// Whoever knows a callback URL (it passes through proxies and their logs) can post to it, so
    /// a callback decides nothing unless it proves itself: a code callback by the request's state
    /// (the code is useless without our client secret anyway), an error callback by the state or
    /// a valid signature. A duplicate is the same content again, never merely the same request:
    /// a code that follows an error still gets its exchange.
    static func admit(_ transaction: any CoreTransaction, _ item: IntakeItem, now: Date) throws -> IntakeOutcome {
        guard let account = try transaction.callbackTarget(requestID: item.requestID) else {
            return .rejected(.callbackRejected(.unknownRequest("no delegated-access request has this callback URL")))
        }
        let stored = account.stateHash
        if let given = item.stateHash {
            guard let stored, ConstantTime.equals(given, stored) else {
                return .rejected(.callbackRejected(.stateMismatch))
            }
        } else if item.codeEnvelope != nil {
            // A code without state: Cronofy documents `state` as optional, and the unguessable
            // per-request URL already names the request; a code is useless without our client
            // secret, so accepting it cannot be abused (a present but wrong state stays a 400).
        } else if !item.signed {
            return .rejected(.callbackRejected(.stateRequired))
        }
        if try transaction.inboxHolds(requestID: item.requestID, contentHash: item.contentHash) {
            return .duplicate
        }
        // A failed request still takes a code (after an error callback, a refused exchange or a
        // timeout), and so does an automatic re-request (`reauthorizing`, or ended
        // `reauthorization_required` by an error), and so does a renewal of an active account
        // (pending, or failed: a late code still brings the new grant); a request already
        // authorized takes nothing new.
        let status = account.status
        let renewing = status == "active" && account.renewalStatus != nil
        guard renewing || ["pending", "reauthorizing", "failed", "reauthorization_required"].contains(status) else {
            return .rejected(.callbackRejected(.unknownRequest("this request is no longer waiting for a callback")))
        }
        // An error after a code changes nothing: the code decides (its exchange either works or
        // fails the request itself). Acknowledged, so that Cronofy stops sending it.
        if item.codeEnvelope == nil, try transaction.inboxHoldsCode(requestID: item.requestID) {
            return .duplicate
        }
        try transaction.insertInbox(item, accountRow: account.accountRow, now: now)
        return .accepted
    }
}
