#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The standard `process_*` metrics every Prometheus client exports (same names, types and units as
/// the Go and Python clients, so existing dashboards and alerts work), read at each scrape from the
/// process's own `/proc/self` files (all the systemd unit's `ProcSubset=pid` leaves visible).
enum ProcessMetrics {
    struct Sample: Equatable {
        var cpuSeconds: Double
        var residentBytes: Int
        var virtualBytes: Int
        var openFileDescriptors: Int
        var maxFileDescriptors: Int
        var startTimeSeconds: Double
    }

    /// The Prometheus text of the current sample; empty where `/proc` is missing (not Linux).
    static func render() -> String {
        guard let sample = read() else { return "" }
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
               String(sample.cpuSeconds))
        metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", String(sample.residentBytes))
        metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", String(sample.virtualBytes))
        metric("process_open_fds", "gauge", "Number of open file descriptors.", String(sample.openFileDescriptors))
        metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", String(sample.maxFileDescriptors))
        metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
               String(sample.startTimeSeconds))
        return text
    }

    static func read() -> Sample? {
        guard let stat = contents("/proc/self/stat"), let statm = contents("/proc/self/statm"),
              let bootTime = bootTime() else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ")": field 3 (state) is fields[0], so field N is fields[N - 3].
        guard fields.count > 19, let utime = Double(fields[11]), let stime = Double(fields[12]),
              let startTicks = Double(fields[19]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = statm.split(separator: " ")
        guard pages.count >= 2, let virtualPages = Int(pages[0]), let residentPages = Int(pages[1]) else { return nil }
        var limit = rlimit()
        let maxFDs = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(clamping: limit.rlim_cur) : -1
        return Sample(
            cpuSeconds: (utime + stime) / ticks, residentBytes: residentPages * pageSize,
            virtualBytes: virtualPages * pageSize, openFileDescriptors: openFileDescriptors(),
            maxFileDescriptors: maxFDs, startTimeSeconds: bootTime + startTicks / ticks)
    }

    /// Entries of `/proc/self/fd`, less the one `opendir` itself holds while counting.
    static func openFileDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { $0.first }
            if name != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1
    }

    /// When the system booted, in seconds since the epoch: the wall clock less the time since boot.
    /// From the clocks rather than `btime` of `/proc/stat`, which the unit's `ProcSubset=pid` hides.
    private static func bootTime() -> Double? {
        var realtime = timespec(), sinceBoot = timespec()
        guard clock_gettime(CLOCK_REALTIME, &realtime) == 0, clock_gettime(CLOCK_BOOTTIME, &sinceBoot) == 0 else { return nil }
        return Double(realtime.tv_sec - sinceBoot.tv_sec) + Double(realtime.tv_nsec - sinceBoot.tv_nsec) / 1e9
    }

    /// A `/proc` file's text (their size is 0 to `stat`, so they are read to the end).
    private static func contents(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
