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

    struct State: Sendable {
        var descriptor: Int32
        var lastID: Int64
        var size: Int64
        var dirty = false
        /// (id, byte offset) of every 256th line: a page read seeks instead of scanning from the start.
        var index: [(id: Int64, offset: Int64)] = []
        let isRegularFile: Bool
    }

    struct Failure: Error, Sendable, CustomStringConvertible {
        let description: String
    }

    static let indexStride: Int64 = 256

    init(path: String, flushInterval: Duration = .seconds(1)) throws(Failure) {
        self.path = path
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
        var state = State(descriptor: descriptor, lastID: 0, size: regular ? Int64(info.st_size) : 0, isRegularFile: regular)
        if regular {
            let scanned = AuditLog.scan(path)
            state.lastID = scanned.lastID
            state.index = scanned.index
        }
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
            bytes.reserveCapacity(256 * entries.count)
            var offsets: [(Int64, Int64)] = []
            var id = state.lastID
            for entry in entries {
                id += 1
                if id % Self.indexStride == 1 { offsets.append((id, state.size + Int64(bytes.count))) }
                entry.append(id: id, time: time, to: &bytes)
                bytes.append(0x0A)
            }
            var written = 0
            while written < bytes.count {
                let result = bytes.withUnsafeBytes { Glibc.write(state.descriptor, $0.baseAddress! + written, bytes.count - written) }
                if result < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    // A partial line may be on disk; the reader skips lines that are not JSON.
                    state.size += Int64(written)
                    return Failure(description: "cannot write the audit log \(path): \(reason)")
                }
                written += result
            }
            state.size += Int64(bytes.count)
            state.lastID = id
            state.index.append(contentsOf: offsets.map { (id: $0.0, offset: $0.1) })
            state.dirty = true
            return nil
        }
        if let failure { throw failure }
    }

    /// Syncs what was written since the last sync.
    func flush() {
        let descriptor: Int32? = state.withLock { state in
            guard state.dirty, state.descriptor >= 0 else { return nil }
            state.dirty = false
            return state.descriptor
        }
        // Outside the lock: a sync may take milliseconds, and writers need not wait for it. The
        // descriptor stays open until `close()`, which stops the flusher first.
        if let descriptor { _ = fdatasync(descriptor) }
    }

    /// Stops the flusher, syncs and closes (at shutdown).
    func close() {
        flusher.stop()
        flush()
        state.withLock { state in
            if state.descriptor >= 0 { Glibc.close(state.descriptor) }
            state.descriptor = -1
        }
    }

    var lastID: Int64 { state.withLock { $0.lastID } }

    /// The open descriptor (tests swap it for /dev/full to make writes fail as a full disk does).
    var descriptor: Int32 { state.withLock { $0.descriptor } }

    /// Lines with ids after `after`, at most `limit`, as written (each a JSON object).
    func page(after: Int64, limit: Int) throws(Failure) -> (lines: [String], nextAfter: Int64) {
        let (regular, start) = state.withLock { state -> (Bool, Int64) in
            // `id - 1 <= after`, not `id <= after + 1`: `after` may be Int64.max.
            let entry = state.index.last { $0.id - 1 <= after }
            return (state.isRegularFile, entry?.offset ?? 0)
        }
        guard regular else { throw Failure(description: "audit.path \(path) is not a regular file: it cannot be read back") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Failure(description: "cannot read the audit log \(path)")
        }
        defer { try? handle.close() }
        try? handle.seek(toOffset: UInt64(start))
        var lines: [String] = []
        var nextAfter = after
        var pending: [UInt8] = []
        reading: while lines.count < limit {
            guard let chunk = try? handle.read(upToCount: 1 << 16), !chunk.isEmpty else { break }
            pending += chunk
            var lineStart = 0
            for position in pending.indices where pending[position] == 0x0A {
                let line = pending[lineStart..<position]
                lineStart = position + 1
                guard let id = Self.id(of: line), id > after else { continue }
                guard JSONSyntaxCheck.firstError(in: Array(line)) == nil else { continue }
                lines.append(String(decoding: line, as: UTF8.self))
                nextAfter = id
                if lines.count == limit { break reading }
            }
            pending.removeFirst(lineStart)
        }
        return (lines, nextAfter)
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

    /// The last id and the sparse index of an existing log, read once at start.
    private static func scan(_ path: String) -> (lastID: Int64, index: [(id: Int64, offset: Int64)]) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return (0, []) }
        defer { try? handle.close() }
        var lastID: Int64 = 0
        var index: [(id: Int64, offset: Int64)] = []
        var offset: Int64 = 0
        var pending: [UInt8] = []
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            pending += chunk
            var lineStart = 0
            for position in pending.indices where pending[position] == 0x0A {
                if let id = id(of: pending[lineStart..<position]) {
                    if id % indexStride == 1 { index.append((id, offset + Int64(lineStart))) }
                    lastID = max(lastID, id)
                }
                lineStart = position + 1
            }
            offset += Int64(lineStart)
            pending.removeFirst(lineStart)
        }
        return (lastID, index)
    }
}

/// The once-a-second sync on its own thread (a sync blocks; the cooperative pool must not).
private final class Flusher: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
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
            condition.unlock()
        }
        thread.name = "ecd-audit-flush"
        self.thread = thread
        thread.start()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }
}
