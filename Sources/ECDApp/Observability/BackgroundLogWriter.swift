import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The queue and thread behind ``LogSink/background(capacity:_:)``.
///
/// Callers append a line to `pending` under the condition's lock (a copy, no system call); the
/// writer thread swaps `pending` for an empty buffer and writes the whole batch outside the lock,
/// so a slow or blocked descriptor holds up only this thread. At most `capacity` bytes wait in
/// `pending` (plus the batch being written); a line that does not fit is dropped and counted.
final class BackgroundLogWriter: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private let writeChunk: @Sendable (UnsafeRawBufferPointer) -> Void
    /// Tells of lines a flush gave up on (standard error, only when that does not block).
    private let note: @Sendable (String) -> Void
    // Guarded by `condition`.
    private var pending: [UInt8] = []
    private var writing = false
    private var closed = false
    private var droppedCount = 0

    /// A batch buffer larger than this is given back after it is written, so one burst does not
    /// keep a megabyte resident for the life of the process.
    private static let keptCapacity = 64 << 10

    init(capacity: Int, writeChunk: @escaping @Sendable (UnsafeRawBufferPointer) -> Void,
         note: @escaping @Sendable (String) -> Void = { BackgroundLogWriter.noteWithoutBlocking($0) }) {
        self.capacity = capacity
        self.writeChunk = writeChunk
        self.note = note
        let thread = Thread { [self] in run() }
        thread.name = "ecd-log-writer"
        // The writer needs little stack: it only copies buffers and calls write(2).
        thread.stackSize = 256 << 10
        thread.start()
    }

    func enqueue(_ line: [UInt8]) {
        condition.lock()
        guard !closed, pending.count + line.count <= capacity else {
            droppedCount += 1
            condition.unlock()
            LogSink.droppedTotal.withLock { $0 += 1 }
            return
        }
        let wasEmpty = pending.isEmpty
        pending.append(contentsOf: line)
        // Broadcast, not signal: a `flush()` may be waiting on the same condition, and a signal
        // that woke it instead of the writer would leave the line unwritten.
        if wasEmpty { condition.broadcast() }
        condition.unlock()
    }

    var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedCount
    }

    /// Waits until everything queued is written, or until `limit` has passed (a blocked stderr
    /// or journald must not hold the process at exit): then the lines still queued are dropped
    /// and counted, and a note says so if standard error takes it at once. A batch the writer is
    /// stuck inside cannot be taken back; it is written if the descriptor ever unblocks.
    func flush(within limit: Duration = .seconds(2)) {
        let parts = limit.components
        let deadline = Date(timeIntervalSinceNow: Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
        condition.lock()
        while !pending.isEmpty || writing {
            if !condition.wait(until: deadline) { break }
        }
        let abandoned = pending.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
        pending.removeAll()
        droppedCount += abandoned
        condition.unlock()
        guard abandoned > 0 else { return }
        LogSink.droppedTotal.withLock { $0 += abandoned }
        note("ecd: \(abandoned) log line\(abandoned == 1 ? "" : "s") dropped: the log descriptor did not take them within \(limit)\n")
    }

    func close(within limit: Duration = .seconds(2)) {
        flush(within: limit)
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// `text` to standard error if it can be written without waiting (the descriptor the log
    /// writer is stuck on is usually this one): `MSG_DONTWAIT` on a socket (journald), else only
    /// when `poll` says a pipe or terminal has room.
    static func noteWithoutBlocking(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            let sent = send(2, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            guard sent < 0, errno == ENOTSOCK else { return }
            var descriptor = pollfd(fd: 2, events: Int16(POLLOUT), revents: 0)
            guard poll(&descriptor, 1, 0) == 1, descriptor.revents & Int16(POLLOUT) != 0 else { return }
            _ = write(2, buffer.baseAddress, buffer.count)
        }
    }

    private func run() {
        var batch: [UInt8] = []
        condition.lock()
        while true {
            while pending.isEmpty && !closed { condition.wait() }
            if pending.isEmpty { break }  // closed, and everything written
            swap(&batch, &pending)
            writing = true
            condition.unlock()
            batch.withUnsafeBytes(writeChunk)
            if batch.capacity > Self.keptCapacity { batch = [] } else { batch.removeAll(keepingCapacity: true) }
            condition.lock()
            writing = false
            condition.broadcast()
        }
        condition.unlock()
    }
}
