import ECDCLibPQ
import FoundationEssentials
import ECDSync

/// The server process ids (`pg_backend_pid()`) of a pool's open connections. A `NOTIFY` names its
/// sender's backend, so a node can tell its own commits' notifications from other nodes': its
/// own changes it has applied already. A connection leaves the set when it is finished
/// (`PQfinish`), before its backend can exit and its id be reused.
final class BackendRegistry: @unchecked Sendable {
    private let lock = Lock()
    private var pids: Set<Int32> = []

    func add(_ pid: Int32) { lock.withLock { _ = pids.insert(pid) } }
    func remove(_ pid: Int32) { lock.withLock { _ = pids.remove(pid) } }
    func contains(_ pid: Int32) -> Bool { lock.withLock { pids.contains(pid) } }
}

extension PostgresPool {
    /// Whether `pid` is the server process of one of this pool's open connections: a
    /// notification whose `senderPID` it is came from this process's own commit.
    public func isOwnBackend(_ pid: Int32) -> Bool { backends.contains(pid) }
}
