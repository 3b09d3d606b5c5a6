import ECDSync
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The audit log (`audit.path`): one JSON line per token read, refresh, revoke, connect-link
/// creation, account request and forbidden call, numbered from 1, appended in order.
///
/// Each line is written with one `write(2)` on an `O_APPEND` descriptor under a lock before the
/// request is answered, so a failed write is known in time to fail the request (503) instead of
/// letting it pass unrecorded. The file is synced (`fdatasync`) at most a second after a line and
/// at ``close()``, which keeps syncs off the token hot path. Mode 0600: the log names who read
/// whose token.
final class AuditLog: Sendable {
    let path: String
    private let state: Locked<State>
    private let flusher: Flusher
    /// `fdatasync` (a test passes one that records or holds the call).
    private let sync: @Sendable (Int32) -> Int32
    /// How long ``close()`` waits for the flusher's thread to end.
    private let closeWait: Duration
    /// What opening read of an existing log: its end only (the tests check it stays small).
    let bytesReadAtOpen: Int64

    struct State: Sendable {
        var descriptor: Int32
        var lastID: Int64
        var dirty = false
        /// The file ends inside a line (torn by a crash, or left by a failed write): the next
        /// write starts with a newline, so its first line is whole and counts.
        var endsInsideLine = false
        let isRegularFile: Bool
    }

    struct Failure: Error, Sendable, CustomStringConvertible {
        let description: String
    }

    init(path: String, flushInterval: Duration = .seconds(1), closeWait: Duration = .seconds(2),
         sync: @escaping @Sendable (Int32) -> Int32 = { fdatasync($0) }) throws(Failure) {
        self.path = path
        self.sync = sync
        self.closeWait = closeWait
        let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "audit.path: cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        fstat(descriptor, &info)
        let regular = (info.st_mode & S_IFMT) == S_IFREG
        // A log made by hand (or by an older umask) may be readable by others: it names who read
        // whose token, so it is made the owner's alone.
        if regular, info.st_mode & 0o077 != 0, fchmod(descriptor, 0o600) != 0 {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw Failure(description: "audit.path: \(path) is readable by others and cannot be made 0600: \(reason)")
        }
        var state = State(descriptor: descriptor, lastID: 0, isRegularFile: regular)
        var bytesRead: Int64 = 0
        if regular, info.st_size > 0 {
            // The numbering goes on from the last whole line, read from the end: opening costs
            // the same for a log of any size.
            let reading = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard reading >= 0 else {
                let reason = String(cString: strerror(errno))
                Glibc.close(descriptor)
                throw Failure(description: "audit.path: cannot read \(path): \(reason)")
            }
            var reader = AuditFileReader(descriptor: reading, size: Int64(info.st_size))
            (state.lastID, state.endsInsideLine) = reader.tail()
            bytesRead = reader.bytesRead
            Glibc.close(reading)
        }
        self.bytesReadAtOpen = bytesRead
        self.state = Locked(state)
        self.flusher = Flusher(interval: flushInterval)
        flusher.start { [weak self] in self?.flush() }
    }

    /// Appends the entries as consecutive lines with one write. Throws when the line could not be
    /// written in full; the caller then fails its request.
    func record(_ entries: [AuditEntry], time: Date = Date()) throws(Failure) {
        guard !entries.isEmpty else { return }
        let failure: Failure? = state.withLock { state in
            guard state.descriptor >= 0 else { return Failure(description: "the audit log is closed") }
            // Encoded straight into the bytes written (one buffer, sized for a typical line).
            var bytes: [UInt8] = []
            bytes.reserveCapacity(256 * entries.count + 1)
            if state.endsInsideLine { bytes.append(0x0A) }
            var id = state.lastID
            for entry in entries {
                id += 1
                entry.append(id: id, time: time, to: &bytes)
                bytes.append(0x0A)
            }
            var written = 0
            while written < bytes.count {
                let result = bytes.withUnsafeBytes { Glibc.write(state.descriptor, $0.baseAddress! + written, bytes.count - written) }
                if result < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    // Part of the text may be on disk: its ids are not used again (a whole line
                    // of it still counts), and the next write starts on a new line.
                    if written > 0 {
                        state.lastID = id
                        state.endsInsideLine = bytes[written - 1] != 0x0A
                    }
                    return Failure(description: "cannot write the audit log \(path): \(reason)")
                }
                written += result
            }
            state.lastID = id
            state.endsInsideLine = false
            state.dirty = true
            return nil
        }
        if let failure { throw failure }
    }

    /// Syncs what was written since the last sync.
    func flush() {
        let copy: Int32? = state.withLock { state in
            guard state.dirty, state.descriptor >= 0 else { return nil }
            // A descriptor of its own: the sync runs outside the lock (it may take milliseconds,
            // and writers need not wait for it), and `close()` may close the log's descriptor
            // meanwhile, whose number the process may then reuse for another file.
            let copy = fcntl(state.descriptor, F_DUPFD_CLOEXEC, 0)
            guard copy >= 0 else { return nil }  // still dirty: the next flush or close syncs
            state.dirty = false
            return copy
        }
        if let copy {
            _ = sync(copy)
            Glibc.close(copy)
        }
    }

    /// Stops the flusher (waiting a bounded time for its thread), then syncs and closes under
    /// the lock (at shutdown). The sync is unconditional: the flusher may have cleared `dirty`
    /// for a sync that has not finished, and every line must be synced when this returns.
    func close() {
        flusher.stop(waitingAtMost: closeWait)
        state.withLock { state in
            guard state.descriptor >= 0 else { return }
            _ = sync(state.descriptor)
            Glibc.close(state.descriptor)
            state.descriptor = -1
            state.dirty = false
        }
    }

    var lastID: Int64 { state.withLock { $0.lastID } }

    /// The open descriptor (tests swap it for /dev/full to make writes fail as a full disk does).
    var descriptor: Int32 { state.withLock { $0.descriptor } }

    /// Lines with ids after `after`, at most `limit`, as written (each a JSON object): a binary
    /// search for the first, then a read forward.
    func page(after: Int64, limit: Int) throws(Failure) -> (lines: [String], nextAfter: Int64) {
        guard state.withLock({ $0.isRegularFile }) else {
            throw Failure(description: "audit.path \(path) is not a regular file: it cannot be read back")
        }
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot read the audit log \(path): \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw Failure(description: "cannot read the audit log \(path): \(String(cString: strerror(errno)))")
        }
        var reader = AuditFileReader(descriptor: descriptor, size: Int64(info.st_size))
        return reader.page(after: after, limit: limit)
    }

    /// The id of a line as this log writes it (`{"id":17,…`), or nil.
    static func id(of line: ArraySlice<UInt8>) -> Int64? {
        let prefix = Array(#"{"id":"#.utf8)
        guard line.count > prefix.count, line.prefix(prefix.count).elementsEqual(prefix) else { return nil }
        var value: Int64 = 0
        var digits = 0
        for byte in line.dropFirst(prefix.count) {
            guard byte >= 0x30, byte <= 0x39 else { break }
            value = value &* 10 &+ Int64(byte - 0x30)
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}

/// The once-a-second sync on its own thread (a sync blocks; the cooperative pool must not).
private final class Flusher: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
    private var finished = false
    private var thread: Thread?
    private let interval: TimeInterval

    init(interval: Duration) {
        let parts = interval.components
        self.interval = Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    func start(_ flush: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            condition.lock()
            while !stopped {
                condition.wait(until: Date(timeIntervalSinceNow: interval))
                if stopped { break }
                condition.unlock()
                flush()
                condition.lock()
            }
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "ecd-audit-flush"
        self.thread = thread
        thread.start()
    }

    /// Tells the thread to stop and waits until it has ended or `limit` has passed (a sync stuck
    /// on a failing disk must not hold shutdown forever).
    func stop(waitingAtMost limit: Duration) {
        let parts = limit.components
        let deadline = Date(timeIntervalSinceNow: Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
        condition.lock()
        stopped = true
        condition.broadcast()
        while thread != nil, !finished, condition.wait(until: deadline) {}
        condition.unlock()
    }
}
