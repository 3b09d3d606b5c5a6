import ECDText
#if canImport(Glibc)
import Glibc
#endif

/// `2026-11-29T10:00:00.123Z`: ISO 8601 UTC with milliseconds, built from `clock_gettime` and
/// `gmtime_r` (a formatter per line would cost more than the rest of the line).
enum LogTimestamp {
    /// Seconds since the epoch and the millisecond within that second.
    static func current() -> (seconds: Int, milliseconds: Int) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return (spec.tv_sec, Int(spec.tv_nsec / 1_000_000))
    }

    static func now() -> String {
        let (seconds, milliseconds) = current()
        return format(seconds: seconds, milliseconds: milliseconds)
    }

    static func format(seconds: Int, milliseconds: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(seconds: seconds, milliseconds: milliseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The 24 bytes of the timestamp, appended in place (no String on the way).
    static func append(seconds: Int, milliseconds: Int, to out: inout [UInt8]) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        digits(Int(parts.tm_year) + 1900, 4, &out)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2, &out)
        out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2, &out)
        out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2, &out)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2, &out)
        out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2, &out)
        out.append(UInt8(ascii: "."))
        digits(milliseconds, 3, &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// `value` zero-padded to at least `width` digits (wider values are written in full).
    private static func digits(_ value: Int, _ width: Int, _ out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor > 1, value < divisor {
            out.append(UInt8(ascii: "0"))
            divisor /= 10
        }
        JSONText.append(integer: value, to: &out)
    }
}
