import FoundationEssentials

/// RFC 9110 §5.6.7 HTTP-dates, read without `DateFormatter` (FoundationEssentials has none; the
/// daemon loads no libFoundation, issue 14): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and,
/// as recipients must accept, the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`) forms. Day names are checked for form only (not against the
/// date), as DateFormatter did; names are matched case-insensitively.
enum HTTPDate {
    static func parse(_ text: String, now: Date) -> Date? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = tokens.first else { return nil }
        if first.hasSuffix(",") {
            let dayName = first.dropLast().lowercased()
            if tokens.count == 6, shortDays.contains(dayName) {   // IMF-fixdate
                guard let day = number(tokens[1], digits: 2), let month = month(tokens[2]),
                      let year = number(tokens[3], digits: 4), let time = clock(tokens[4]), isGMT(tokens[5])
                else { return nil }
                return make(year: year, month: month, day: day, time: time)
            }
            if tokens.count == 4, longDays.contains(dayName) {     // RFC 850
                let parts = tokens[1].split(separator: "-", omittingEmptySubsequences: false)
                guard parts.count == 3, let day = number(parts[0], digits: 2), let month = month(parts[1]),
                      let shortYear = number(parts[2], digits: 2), let time = clock(tokens[2]), isGMT(tokens[3])
                else { return nil }
                return make(year: fullYear(shortYear, now: now), month: month, day: day, time: time)
            }
            return nil
        }
        // asctime: day name, month, day (1 or 2 digits, space-padded), time, year.
        guard tokens.count == 5, shortDays.contains(first.lowercased()), let month = month(tokens[1]),
              let day = number(tokens[2], digits: 1...2), let time = clock(tokens[3]),
              let year = number(tokens[4], digits: 4)
        else { return nil }
        return make(year: year, month: month, day: day, time: time)
    }

    private static let shortDays: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let longDays: Set<String> = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    private static func month(_ token: Substring) -> Int? {
        months.firstIndex(of: token.lowercased()).map { $0 + 1 }
    }

    private static func isGMT(_ token: Substring) -> Bool {
        token == "GMT" || token == "UTC"
    }

    private static func number(_ token: Substring, digits: Int) -> Int? { number(token, digits: digits...digits) }

    private static func number(_ token: Substring, digits: ClosedRange<Int>) -> Int? {
        guard digits.contains(token.utf8.count), token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(token)
    }

    /// `HH:MM:SS` as seconds of the day.
    private static func clock(_ token: Substring) -> Int? {
        let parts = token.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let hour = number(parts[0], digits: 2), let minute = number(parts[1], digits: 2),
              let second = number(parts[2], digits: 2), hour < 24, minute < 60, second <= 60
        else { return nil }
        return hour * 3600 + minute * 60 + second
    }

    /// RFC 9110: a two-digit year that would be more than 50 years in the future is in the past century.
    private static func fullYear(_ shortYear: Int, now: Date) -> Int {
        let current = 1970 + Int((now.timeIntervalSince1970 / 31_556_952).rounded(.down))
        var year = current - current % 100 + shortYear
        if year > current + 50 { year -= 100 }
        if year < current - 50 { year += 100 }
        return year
    }

    private static func make(year: Int, month: Int, day: Int, time: Int) -> Date? {
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        return Date(timeIntervalSince1970: Double(daysFromCivil(year: year, month: month, day: day) * 86_400 + time))
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (H. Hinnant's days_from_civil, as ECDCore's ISO8601 uses its inverse).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
