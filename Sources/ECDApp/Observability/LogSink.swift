import ECDSync
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where log lines go. Writes are serialized so concurrent lines never interleave, and each line
/// goes out in one `write` (loops only on a partial write or `EINTR`).
public final class LogSink: Sendable {
    private let writeLine: @Sendable ([UInt8]) -> Void
    private let lock = NSLock()

    /// `writeLine` receives one complete line, newline included.
    public init(_ writeLine: @escaping @Sendable ([UInt8]) -> Void) {
        self.writeLine = writeLine
    }

    /// Standard error, unbuffered: a crash right after a line still leaves the line behind.
    public static let standardError = LogSink { bytes in
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // stderr is gone; nothing sensible is left to report to
                }
                offset += written
            }
        }
    }

    func write(_ line: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        writeLine(line)
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
