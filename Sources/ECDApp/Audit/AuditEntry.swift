import ECDHTTP
import Foundation

/// One line of the audit log: who (key name, client address, request id) did what (action) to
/// whom (an email or a service-account id) and how it ended. Never a token, code or key: the
/// fields are names and identifiers only, and none of them is taken from a response body.
struct AuditEntry: Sendable, Equatable {
    /// `account.token.read`, `account.refresh`, `account.revoke`, `account.request`,
    /// `service_account.token.read`, `service_account.revoke`, `connect_link.create`, or the
    /// permission a forbidden call lacked's route action.
    var action: String
    /// The key's name (`billing`, or `#1` for a plain key).
    var key: String
    /// An email or service-account id, or nil (a connect link has no target yet).
    var target: String?
    /// `ok` (2xx), `forbidden` (403, the missing permission in `permission`), `failed` (anything else).
    var outcome: String
    var status: Int
    /// The permission a forbidden call lacked.
    var permission: String?
    var requestID: String
    var client: String

    init(action: String, key: String, target: String?, status: Int, permission: String? = nil,
         requestID: String, client: String) {
        self.action = action
        self.key = key
        self.target = target
        self.status = status
        self.outcome = (200..<300).contains(status) ? "ok" : status == 403 ? "forbidden" : "failed"
        self.permission = permission
        self.requestID = requestID
        self.client = client
    }

    /// The JSON line (no trailing newline), fields in a fixed order so lines diff and grep well.
    func line(id: Int64, time: Date) -> String {
        var fields = [
            "\"id\":\(id)",
            "\"time\":\(JSONString.quote(Self.timestamp(time)))",
            "\"key\":\(JSONString.quote(key))",
            "\"action\":\(JSONString.quote(action))",
        ]
        if let target { fields.append("\"target\":\(JSONString.quote(target))") }
        fields.append("\"outcome\":\(JSONString.quote(outcome))")
        fields.append("\"status\":\(status)")
        if let permission { fields.append("\"permission\":\(JSONString.quote(permission))") }
        fields.append("\"request_id\":\(JSONString.quote(requestID))")
        fields.append("\"client\":\(JSONString.quote(client))")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// RFC 3339 UTC with milliseconds, without Foundation's locale-dependent formatters.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var time = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(milliseconds % 1000), 3))Z"
    }
}
