import ECDHTTP

/// `GET /v1/audit?after=&limit=` (admin only): pages through the audit log, oldest first, as
/// `{"entries": [line, …], "next_after": <id of the last line>}`; `ecd audit` reads it.
struct AuditRoutes: Sendable {
    let audit: AuditLog

    func register(in table: inout RouteTable) {
        let audit = self.audit
        table.deferred(.get, "/v1/audit") { request, _ in
            let query = QueryParameters(request)
            try query.rejectUnknown(allowing: ["after", "limit"])
            let after = try query.string("after").map { text throws(APIError) -> Int64 in
                guard let id = Int64(text), id >= 0 else {
                    throw APIError.invalidField("after", "expected an audit line id: an integer from 0 to \(Int64.max)")
                }
                return id
            }
            let limit = try query.integer("limit", in: 1...1000, default: 100)
            let page: (lines: [String], nextAfter: Int64)
            do {
                page = try audit.page(after: after ?? 0, limit: limit)
            } catch {
                throw APIError(.serviceUnavailable, code: "audit_unavailable", message: "\(error)")
            }
            let body = "{\"entries\":[" + page.lines.joined(separator: ",") + "],\"next_after\":\(page.nextAfter)}"
            var headers = HTTPHeaders()
            headers.add(name: "Cache-Control", value: "no-store")
            return .json(.ok, bytes: Array(body.utf8), headers: headers)
        }
    }
}
