/// OAuth scopes: space-separated words. Order and repetition carry no meaning.
public enum Scope {
    /// The distinct words of a scope string, in first-seen order.
    public static func parse(_ scope: String) -> [String] {
        var seen = Set<String>()
        var words: [String] = []
        for word in scope.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            let text = String(word)
            if seen.insert(text).inserted { words.append(text) }
        }
        return words
    }

    /// The canonical spelling: distinct words joined by single spaces.
    public static func normalized(_ scope: String) -> String { parse(scope).joined(separator: " ") }

    /// Words of `scope` that `ceiling` does not grant (empty when `scope` ⊆ `ceiling`).
    public static func excess(_ scope: String, within ceiling: String) -> [String] {
        let allowed = Set(parse(ceiling))
        return parse(scope).filter { !allowed.contains($0) }
    }

    /// Scope words are printable ASCII without quotes or backslashes (RFC 6749 §3.3 `NQCHAR`).
    public static func isWellFormed(_ scope: String) -> Bool {
        scope.unicodeScalars.allSatisfy { scalar in
            scalar == " " || (scalar.value == 0x21 || (0x23...0x5B).contains(scalar.value) || (0x5D...0x7E).contains(scalar.value))
        }
    }
}
