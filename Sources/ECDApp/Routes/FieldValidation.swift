/// Syntax checks of request values, before the core sees them. The core decides what is
/// acceptable beyond syntax (a known service account, a scope within its delegated scope).
enum FieldValidation {
    /// A pragmatic mailbox check (RFC 5321 sizes, one `@`, a dotted domain, no spaces or the
    /// characters that would need quoting); Cronofy and the mail provider decide the rest.
    static func isValidEmail(_ email: String) -> Bool {
        guard email.utf8.count <= 254 else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let local = parts[0], domain = parts[1]
        guard !local.isEmpty, local.utf8.count <= 64, !domain.isEmpty else { return false }
        let forbidden: Set<Character> = ["<", ">", "(", ")", "[", "]", ",", ";", ":", "\\", "\"", "/"]
        for character in email {
            if character.isWhitespace || forbidden.contains(character) { return false }
            if character.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return false }
        }
        if local.hasPrefix(".") || local.hasSuffix(".") || local.contains("..") { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63, !label.hasPrefix("-"), !label.hasSuffix("-") else { return false }
            guard label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { return false }
        }
        return true
    }

    /// A scope is one or more space-separated tokens of printable ASCII.
    static func isValidScope(_ scope: String) -> Bool {
        let tokens = scope.split(separator: " ")
        guard !tokens.isEmpty else { return false }
        return scope.unicodeScalars.allSatisfy { $0 == " " || (0x21...0x7E).contains($0.value) }
    }
}
