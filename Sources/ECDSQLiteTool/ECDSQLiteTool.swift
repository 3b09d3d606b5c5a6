import ECDSQLite
import Glibc

/// Helper executable for ECDSQLite's durability test and benchmark. Not shipped.
///
///     ECDSQLiteTool crash-child <database>   commit rows until killed, one line per commit
///     ECDSQLiteTool bench <folder> [rows…]   lookups and durable commits per second
@main
enum ECDSQLiteTool {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            switch arguments.first {
            case "crash-child" where arguments.count == 2:
                try CrashChild.run(path: arguments[1])
            case "bench" where arguments.count >= 2:
                let sizes = arguments.dropFirst(2).compactMap { Int($0) }
                try Benchmark.run(folder: arguments[1], sizes: sizes.isEmpty ? [1_000, 100_000] : sizes)
            default:
                writeError("usage: ECDSQLiteTool crash-child <database> | bench <folder> [rows…]\n")
                exit(64)
            }
        } catch {
            writeError("ECDSQLiteTool: \(error)\n")
            exit(1)
        }
    }
}

/// Writes to fd 2 directly: the C `stderr` global is not usable under strict concurrency.
func writeError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
