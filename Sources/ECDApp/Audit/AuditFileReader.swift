import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads an audit log without scanning it: the last line from the end at open, and a page by a
/// binary search on byte offsets (ids grow along the file). Either costs a few reads of a few KiB,
/// whatever the file's size.
///
/// A line counts when it is complete (ends with a newline), starts `{"id":N` and is JSON. That
/// leaves out a line torn by a crash (a strict prefix of an object is never JSON) and the
/// fragment a failed write left: the writer starts its next line after a newline, and never
/// reuses the ids of a failed write, so the lines that count have strictly growing ids.
struct AuditFileReader {
    let descriptor: Int32
    let size: Int64
    /// Bytes read so far (the tests check that opening a large log reads only its end).
    private(set) var bytesRead: Int64 = 0

    static let chunk = 1 << 16

    init(descriptor: Int32, size: Int64) {
        self.descriptor = descriptor
        self.size = size
    }

    /// The id of the last line that counts (0: none), and whether the file ends inside a line.
    mutating func tail() -> (lastID: Int64, torn: Bool) {
        guard size > 0 else { return (0, false) }
        var buffer: [UInt8] = []     // the file's bytes [start, size)
        var start = size
        func extend() -> Bool {
            guard start > 0 else { return false }
            let count = Int(min(Int64(Self.chunk), start))
            start -= Int64(count)
            buffer.insert(contentsOf: read(at: start, count: count), at: 0)
            return true
        }
        _ = extend()
        let torn = buffer.last != 0x0A
        // `end`: the buffer index of the newline that ends the line looked at.
        var end: Int? = buffer.lastIndex(of: 0x0A)
        while end == nil, extend() { end = buffer.lastIndex(of: 0x0A) }
        while var lineEnd = end {
            var lineStart = buffer[..<lineEnd].lastIndex(of: 0x0A).map { $0 + 1 }
            while lineStart == nil {
                let before = buffer.count
                guard extend() else { lineStart = 0; break }
                lineEnd += buffer.count - before
                lineStart = buffer[..<lineEnd].lastIndex(of: 0x0A).map { $0 + 1 }
            }
            let first = lineStart ?? 0
            if let id = Self.countedID(buffer[first..<lineEnd]) { return (id, torn) }
            end = first > 0 ? first - 1 : nil
        }
        return (0, torn)
    }

    /// The offset of the first line that counts with an id above `after` (`size` when none).
    mutating func offset(after: Int64) -> Int64 {
        // P(p): the first counted line starting at or after p is absent or above `after`. P is
        // false then true along the file; find the first p where it holds.
        var low: Int64 = 0
        var high = size
        while low < high {
            let middle = low + (high - low) / 2
            if let line = firstCounted(from: middle), line.id <= after {
                low = max(middle + 1, line.start + 1)
            } else {
                high = middle
            }
        }
        return firstCounted(from: low)?.start ?? size
    }

    /// Up to `limit` counted lines with ids above `after`, from the first one on, and the id of the
    /// last one given (`after` when none).
    mutating func page(after: Int64, limit: Int) -> (lines: [String], nextAfter: Int64) {
        var offset = self.offset(after: after)
        var lines: [String] = []
        var nextAfter = after
        var pending: [UInt8] = []
        while offset < size, lines.count < limit {
            let bytes = read(at: offset, count: Int(min(Int64(Self.chunk), size - offset)))
            guard !bytes.isEmpty else { break }
            offset += Int64(bytes.count)
            pending += bytes
            var lineStart = 0
            for index in pending.indices where pending[index] == 0x0A {
                defer { lineStart = index + 1 }
                guard let id = Self.countedID(pending[lineStart..<index]), id > after else { continue }
                lines.append(String(decoding: pending[lineStart..<index], as: UTF8.self))
                nextAfter = id
                if lines.count == limit { break }
            }
            pending.removeFirst(lineStart)
        }
        return (lines, nextAfter)
    }

    /// The first counted line starting at or after `position` (a line starts at 0 or after a newline).
    private mutating func firstCounted(from position: Int64) -> (start: Int64, id: Int64)? {
        var offset = position
        var pending: [UInt8] = []
        var pendingStart = offset
        // Not at a line's start: skip to just after the next newline.
        var skipping = position > 0 && read(at: position - 1, count: 1).first != 0x0A
        while offset < size {
            let count = Int(min(Int64(Self.chunk), size - offset))
            let bytes = read(at: offset, count: count)
            guard !bytes.isEmpty else { return nil }
            offset += Int64(bytes.count)
            pending += bytes
            var lineStart = 0
            for index in pending.indices where pending[index] == 0x0A {
                defer { lineStart = index + 1 }
                if skipping { skipping = false; continue }
                if let id = Self.countedID(pending[lineStart..<index]) { return (pendingStart + Int64(lineStart), id) }
            }
            pending.removeFirst(lineStart)
            pendingStart += Int64(lineStart)
        }
        return nil
    }

    static func countedID(_ line: ArraySlice<UInt8>) -> Int64? {
        guard let id = AuditLog.id(of: line), JSONSyntaxCheck.firstError(in: Array(line)) == nil else { return nil }
        return id
    }

    private mutating func read(at offset: Int64, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let result = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled)) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { break }
            filled += result
        }
        bytesRead += Int64(filled)
        return Array(bytes.prefix(filled))
    }
}
