import Foundation

/// A file that could not be read, with the OS's reason and never its contents.
struct FileReadError: Error, Sendable {
    let reason: String

    static func readText(_ path: String) throws(FileReadError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw FileReadError(reason: "cannot read \(path): \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FileReadError(reason: "\(path) is not UTF-8 text")
        }
        return text
    }
}
