import Foundation

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
    // Guarded by `condition`.
    private var pending: [UInt8] = []
    private var writing = false
    private var closed = false
    private var droppedCount = 0

    /// A batch buffer larger than this is given back after it is written, so one burst does not
    /// keep a megabyte resident for the life of the process.
    private static let keptCapacity = 64 << 10

    init(capacity: Int, writeChunk: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
        self.capacity = capacity
        self.writeChunk = writeChunk
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

    func flush() {
        condition.lock()
        while !pending.isEmpty || writing { condition.wait() }
        condition.unlock()
    }

    func close() {
        flush()
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
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
