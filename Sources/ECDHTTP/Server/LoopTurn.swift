/// Work that the synchronous handlers of one event-loop turn stage, done once when the turn's
/// events are handled, before any response that depends on it leaves: the audit lines of token
/// reads, one `write(2)` for all the reads a turn answers instead of one each.
public protocol TurnBatch: AnyObject {
    /// Does what was staged (called once, on the loop's thread). False when it failed: every
    /// response held for it is replaced by its fallback.
    func commit() -> Bool
}

/// One event loop's turn, as a synchronous handler sees it (`RequestContext.turn`): a handler
/// stages work into a batch of the turn and holds its response until that batch is committed.
/// Only ever used on the loop's thread (the handler of a `.response` runs there); deferred work
/// runs elsewhere and must not use it.
public final class LoopTurn: @unchecked Sendable {
    private var batches: [(owner: ObjectIdentifier, batch: any TurnBatch)] = []
    /// The hold the handler running now asked for, taken by its connection when it returns.
    private var pendingHold: (batch: any TurnBatch, fallback: HTTPResponse)?
    /// Connections whose response waits for the turn's batches.
    private var parked: [HTTPConnection] = []

    init() {}

    /// The batch `owner` stages into on this turn, made by `make` on the turn's first use.
    public func batch<Batch: TurnBatch>(for owner: AnyObject, make: () -> Batch) -> Batch {
        let id = ObjectIdentifier(owner)
        for entry in batches where entry.owner == id {
            if let batch = entry.batch as? Batch { return batch }
        }
        let batch = make()
        batches.append((id, batch))
        return batch
    }

    /// Holds the response of the request being handled until `batch` is committed: it is sent when
    /// the commit succeeds, `fallback` instead when it fails. Only the server's own connections
    /// honour a hold; a handler called otherwise (a router on its own) must not ask for one.
    public func hold(until batch: any TurnBatch, fallback: HTTPResponse) {
        pendingHold = (batch, fallback)
    }

    /// The hold asked for by the handler that just returned, if any (and forgets it).
    func takeHold() -> (batch: any TurnBatch, fallback: HTTPResponse)? {
        defer { pendingHold = nil }
        return pendingHold
    }

    func park(_ connection: HTTPConnection) { parked.append(connection) }

    /// At the end of the loop's turn: commits every batch staged, then lets the parked responses
    /// go (or their fallbacks). Answering a parked connection may answer its next pipelined
    /// request, which may stage and park again: repeated until nothing is parked.
    func finish() {
        while !batches.isEmpty || !parked.isEmpty {
            let staged = batches
            let waiting = parked
            batches.removeAll(keepingCapacity: true)
            parked.removeAll(keepingCapacity: true)
            var failed: [ObjectIdentifier] = []
            for entry in staged where !entry.batch.commit() {
                failed.append(ObjectIdentifier(entry.batch))
            }
            for connection in waiting {
                connection.releaseHeld { batch in !failed.contains(ObjectIdentifier(batch)) }
            }
        }
    }
}
