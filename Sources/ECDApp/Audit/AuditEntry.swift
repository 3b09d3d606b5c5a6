import ECDHTTP
import ECDText
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
    /// `started` (a change's request, written before it is acted on; no status), then `ok` (2xx),
    /// `forbidden` (403, the missing permission in `permission`), `failed` (anything else).
    var outcome: String
    var status: Int?
    /// The permission a forbidden call lacked.
    var permission: String?
    var requestID: String
    var client: String

    init(action: String, key: String, target: String?, status: Int?, permission: String? = nil,
         requestID: String, client: String) {
        self.action = action
        self.key = key
        self.target = target
        self.status = status
        self.outcome = switch status {
        case nil: "started"
        case let code? where (200..<300).contains(code): "ok"
        case 403?: "forbidden"
        default: "failed"
        }
        self.permission = permission
        self.requestID = requestID
        self.client = client
    }

    /// The JSON line (no trailing newline), fields in a fixed order so lines diff and grep well.
    func line(id: Int64, time: Date) -> String {
        var out: [UInt8] = []
        append(id: id, time: time, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The line appended to `out` in place (no trailing newline): written straight into the
    /// bytes that go to the file, with no String per field, since every token read writes one.
    func append(id: Int64, time: Date, to out: inout [UInt8]) {
        JSONText.append(literal: "{\"id\":", to: &out)
        JSONText.append(integer: Int(id), to: &out)
        JSONText.append(literal: ",\"time\":\"", to: &out)
        Self.appendTime(time, to: &out)
        JSONText.append(literal: "\",\"key\":", to: &out)
        JSONText.append(string: key, to: &out)
        JSONText.append(literal: ",\"action\":", to: &out)
        JSONText.append(string: action, to: &out)
        if let target {
            JSONText.append(literal: ",\"target\":", to: &out)
            JSONText.append(string: target, to: &out)
        }
        JSONText.append(literal: ",\"outcome\":", to: &out)
        JSONText.append(string: outcome, to: &out)
        if let status {
            JSONText.append(literal: ",\"status\":", to: &out)
            JSONText.append(integer: status, to: &out)
        }
        if let permission {
            JSONText.append(literal: ",\"permission\":", to: &out)
            JSONText.append(string: permission, to: &out)
        }
        JSONText.append(literal: ",\"request_id\":", to: &out)
        JSONText.append(string: requestID, to: &out)
        JSONText.append(literal: ",\"client\":", to: &out)
        JSONText.append(string: client, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// RFC 3339 UTC with milliseconds (the log's timestamp writer: no Foundation formatter).
    static func appendTime(_ date: Date, to out: inout [UInt8]) {
        let milliseconds = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        LogTimestamp.append(seconds: seconds, milliseconds: milliseconds - seconds * 1000, to: &out)
    }
}
