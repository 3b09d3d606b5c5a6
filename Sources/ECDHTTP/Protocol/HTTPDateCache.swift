#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The `Date` header line (IMF-fixdate, RFC 9110 §5.6.7), formatted at most once per second.
struct HTTPDateCache {
    private var second = -1
    private(set) var line: [UInt8] = []

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n` for the current second.
    mutating func current() -> [UInt8] {
        let now = time(nil)
        if Int(now) != second {
            second = Int(now)
            line = Array(("Date: " + HTTPDateCache.format(now) + "\r\n").utf8)
        }
        return line
    }

    static func format(_ t: time_t) -> String {
        var t = t
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }
}
