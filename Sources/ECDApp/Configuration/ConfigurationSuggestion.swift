/// "did you mean …?" for an unknown key: an unknown key is nearly always a typo of a known one,
/// and the typo is easier to see when the right spelling is printed beside it.
enum ConfigurationSuggestion {
    /// The candidate closest to `name` by edit distance (a swap of two neighbours counts as one
    /// edit), when it is close enough to be a typo; ties go to the earlier candidate.
    static func closest(to name: String, among candidates: [String]) -> String? {
        let typed = Array(name.lowercased().utf8)
        // Short names tolerate fewer edits, or every short typo would "match" something.
        let allowed = typed.count < 10 ? 2 : 3
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(typed, Array(candidate.lowercased().utf8))
            if distance <= allowed, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// A known dotted key for `name` (`section.key`): the closest spelling, else a key of the same
    /// name in another section (`refresh.drain_seconds` → `server.drain_seconds`).
    static func key(for name: String) -> String? {
        let known = ConfigurationKey.acceptedNames.sorted()
        if let close = closest(to: name, among: known) { return close }
        guard let dot = name.firstIndex(of: ".") else { return nil }
        let leaf = name[name.index(after: dot)...]
        return known.first { $0.hasSuffix("." + leaf) }
    }

    /// A known `ECD_*` variable for the unknown variable `name`.
    static func variable(for name: String) -> String? {
        closest(to: name, among: ConfigurationKey.acceptedNames.sorted().map(ConfigurationKey.environmentName(of:)))
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
    /// of adjacent bytes each cost one.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previousPrevious[j - 2] + 1)
                }
                current[j] = value
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
