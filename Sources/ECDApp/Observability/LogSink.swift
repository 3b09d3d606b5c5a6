import ECDSync
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where log lines go. Lines never interleave: each goes out whole, either written at once under
/// the sink's lock (``init(_:)``, for commands and tests) or queued for the sink's own writer
/// thread (``background(capacity:_:)``, the daemon's: no caller ever waits for the descriptor).
public final class LogSink: Sendable {
    private enum Mode: Sendable {
        case direct(@Sendable ([UInt8]) -> Void)
        case queued(BackgroundLogWriter)
    }

    private let mode: Mode
    private let lock = NSLock()

    /// `writeLine` receives one complete line, newline included, on the calling thread.
    public init(_ writeLine: @escaping @Sendable ([UInt8]) -> Void) {
        self.mode = .direct(writeLine)
    }

    private init(writer: BackgroundLogWriter) {
        self.mode = .queued(writer)
    }

    /// Lines are copied into a queue of at most `capacity` bytes and written, in order and many
    /// lines per call, by a thread of the sink's own; `write` never blocks on I/O. When the queue
    /// is full (the descriptor blocks or is slower than the lines come) a line is dropped and
    /// counted (``droppedLines``, and `ecd_log_lines_dropped_total` for the process) rather than
    /// making an event loop wait. ``flush(within:)`` waits (bounded) until everything queued is written.
    public static func background(
        capacity: Int = 1 << 20, _ writeChunk: @escaping @Sendable (UnsafeRawBufferPointer) -> Void
    ) -> LogSink {
        LogSink(writer: BackgroundLogWriter(capacity: capacity, writeChunk: writeChunk))
    }

    /// A background sink whose give-up note goes to `note` (tests).
    static func background(
        capacity: Int = 1 << 20, note: @escaping @Sendable (String) -> Void,
        _ writeChunk: @escaping @Sendable (UnsafeRawBufferPointer) -> Void
    ) -> LogSink {
        LogSink(writer: BackgroundLogWriter(capacity: capacity, writeChunk: writeChunk, note: note))
    }

    /// Standard error, written at once: a crash right after a line still leaves the line behind.
    public static let standardError = LogSink { bytes in
        bytes.withUnsafeBytes { writeAll(2, $0) }
    }

    /// Standard error from the sink's own thread (the daemon's logging; see ``background(capacity:_:)``).
    public static func standardErrorInBackground(capacity: Int = 1 << 20) -> LogSink {
        background(capacity: capacity) { writeAll(2, $0) }
    }

    func write(_ line: [UInt8]) {
        switch mode {
        case .direct(let writeLine):
            lock.lock()
            defer { lock.unlock() }
            writeLine(line)
        case .queued(let writer):
            writer.enqueue(line)
        }
    }

    /// Waits until every line written so far has been handed to the descriptor (at shutdown, and
    /// before a process exits), for at most `limit`: lines still queued then are dropped and
    /// counted. Immediate for a direct sink.
    public func flush(within limit: Duration = .seconds(2)) {
        if case .queued(let writer) = mode { writer.flush(within: limit) }
    }

    /// Flushes, then ends the writer thread (a sink made for a test); later lines are dropped.
    public func close() {
        if case .queued(let writer) = mode { writer.close() }
    }

    /// Lines this sink dropped because its queue was full.
    public var droppedLines: Int {
        if case .queued(let writer) = mode { return writer.dropped }
        return 0
    }

    /// Lines dropped by every sink of the process (`ecd_log_lines_dropped_total`).
    public static var droppedLinesTotal: Int { droppedTotal.withLock { $0 } }
    static let droppedTotal = Locked(0)

    /// All of `bytes` to `descriptor`, looping on a partial write or `EINTR`; gives up silently
    /// when the descriptor is gone (there is nowhere left to report that to).
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

/// Lines kept in memory, for tests and for the demo's captured output.
public final class LogCapture: Sendable {
    private let storage = Locked<[String]>([])

    public init() {}

    public var sink: LogSink {
        LogSink { [storage] bytes in
            storage.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) }
        }
    }

    /// The lines written so far, each without its trailing newline.
    public var lines: [String] {
        storage.withLock { $0.map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 } }
    }
}
