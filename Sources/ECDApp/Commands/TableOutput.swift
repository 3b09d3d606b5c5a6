import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Plain-text tables for a person at a terminal: a header row, columns padded to their widest
/// cell, "-" for an absent value. No colours or box drawing, so the output also survives `less`.
struct TableOutput {
    let headers: [String]
    private(set) var rows: [[String]] = []

    init(_ headers: [String]) {
        self.headers = headers
    }

    mutating func add(_ cells: [String?]) {
        rows.append(cells.map { cell in
            guard let cell, !cell.isEmpty else { return "-" }
            return cell
        })
    }

    var rendered: String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }

    /// `name: value` lines for one object, names aligned.
    static func fields(_ pairs: [(String, String?)]) -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { name, value in
            (name + ":").padding(toLength: width + 1, withPad: " ", startingAt: 0) + " " + (value.flatMap { $0.isEmpty ? nil : $0 } ?? "-")
        }.joined(separator: "\n")
    }
}

/// Whether a standard stream is a terminal: tables and live progress there, JSON and plain lines
/// for pipes and files.
enum Terminal {
    enum Stream {
        case standardInput
        case standardOutput
        case standardError

        var descriptor: Int32 {
            switch self {
            case .standardInput: STDIN_FILENO
            case .standardOutput: STDOUT_FILENO
            case .standardError: STDERR_FILENO
            }
        }
    }

    static func isTerminal(_ stream: Stream) -> Bool {
        isatty(stream.descriptor) == 1
    }
}
