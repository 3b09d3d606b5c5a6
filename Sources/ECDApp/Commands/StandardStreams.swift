import Foundation

/// Unbuffered writes to standard output and error for command results and explanations.
/// (`print` buffers stdout; mixing it with `FileHandle` writes could reorder lines.)
enum StandardStreams {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(terminated(text).utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(terminated(text).utf8))
    }

    private static func terminated(_ text: String) -> String {
        text.hasSuffix("\n") ? text : text + "\n"
    }
}

extension StandardStreams {
    /// Redraws the progress line of a terminal in place; nil clears it.
    static func progress(_ line: String?) {
        FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + (line ?? "")).utf8))
    }
}
