/// OAuth scopes: space-separated words. Order and repetition carry no meaning.
///
/// Scopes are sent to Cronofy exactly as the caller wrote them (shorthands included); only the
/// local ceiling check (a request's scope must lie within its service account's granted
/// `delegated_scope`) and the comparison of two scopes read them through `grants`.
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

    /// What a granted word grants besides itself. Only rules a Cronofy page or SDK states are
    /// here; where the docs are silent a word grants only itself (a request is then refused
    /// locally rather than sent with more than the service account was given).
    ///
    /// - `read_events` includes `read_free_busy`: "the read_events scope implicitly includes this
    ///   scope" (docs.cronofy.com/developers/api/authorization/request-authorization, `scope`
    ///   parameter; also pycronofy `pycronofy/settings.py` comment).
    /// - `read_only`, `write_only`, `read_write` are Cronofy's "simplified scopes ... as an
    ///   alternative to accommodate common use-cases" (same page). `read_only` "will allow your
    ///   application to access the schedule" (api-alpha/business-connect/request-authorization);
    ///   `write_only` is what "you request" to create events and update or delete the ones you
    ///   created (authorization/permissions). The exact word lists are not published: `read_only`
    ///   is read as the read words (`read_account list_calendars read_events read_free_busy`),
    ///   `write_only` as `create_event delete_event`, `read_write` as both. Undocumented words
    ///   (`create_calendar`, `change_participation_status`, `event_reminders`, ...) are not
    ///   implied by any shorthand: they must be granted by name.
    /// - `free_busy` and `free_busy_write` are access modes, not shorthands: Cronofy requires the
    ///   service account's `delegated_scope` to include them by name ("The service account's
    ///   delegated_scope must include free_busy", authorization/enterprise-connect/free-busy-only;
    ///   "Required Delegated Scope: free_busy_write", authorization/access-modes/free-busy and
    ///   .../read-write). They grant only themselves and are granted by nothing else.
    static let implied: [String: Set<String>] = [
        "read_events": ["read_free_busy"],
        "read_only": readWords,
        "write_only": writeWords,
        "read_write": readWords.union(writeWords),
    ]
    private static let readWords: Set<String> = ["read_account", "list_calendars", "read_events", "read_free_busy"]
    private static let writeWords: Set<String> = ["create_event", "delete_event"]

    /// Every word `scope` grants: its words and what they imply.
    public static func grants(_ scope: String) -> Set<String> {
        var granted = Set<String>()
        for word in parse(scope) {
            granted.insert(word)
            granted.formUnion(implied[word] ?? [])
        }
        return granted
    }

    /// Words of `scope` that `ceiling` does not grant (empty when `scope` ⊆ `ceiling`). A
    /// shorthand in `scope` is within the ceiling when every word it stands for is (a ceiling of
    /// `read_account list_calendars read_events` admits `read_only`); any other word must be
    /// granted itself.
    public static func excess(_ scope: String, within ceiling: String) -> [String] {
        let allowed = grants(ceiling)
        return parse(scope).filter { word in
            if allowed.contains(word) { return false }
            guard let standsFor = implied[word], word != "read_events" else { return true }
            return !standsFor.isSubset(of: allowed)
        }
    }

    /// Whether two scopes grant the same (`read_write` equals its words in any order).
    public static func isEquivalent(_ one: String, _ other: String) -> Bool {
        excess(one, within: other).isEmpty && excess(other, within: one).isEmpty
    }

    /// The one scope rule, of the API and the core alike: at least one word once normalized
    /// (spaces, tabs and newlines separate words), each of printable ASCII without quotes or
    /// backslashes.
    public static func isValid(_ scope: String) -> Bool {
        let words = normalized(scope)
        return !words.isEmpty && isWellFormed(words)
    }

    /// Scope words are printable ASCII without quotes or backslashes (RFC 6749 §3.3 `NQCHAR`).
    public static func isWellFormed(_ scope: String) -> Bool {
        scope.unicodeScalars.allSatisfy { scalar in
            scalar == " " || (scalar.value == 0x21 || (0x23...0x5B).contains(scalar.value) || (0x5D...0x7E).contains(scalar.value))
        }
    }
}
