import ECDCore
import ECDHTTP

/// Health, readiness and metrics: the routes an orchestrator and a scraper use.
enum SystemRoutes {
    static func healthy() -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Cache-Control", value: "no-store")
        return .json(.ok, bytes: Array(#"{"status":"ok"}"#.utf8), headers: headers)
    }

    /// 200 when the core reports no problem (database writable, Cronofy settings valid), else
    /// 503 naming each problem.
    static func readiness(_ core: EnterpriseConnect) async -> HTTPResponse {
        let problems = await core.readiness()
        guard problems.isEmpty else {
            let list = "[" + problems.map(JSONString.quote).joined(separator: ",") + "]"
            return APIError(.serviceUnavailable, code: "not_ready", message: problems.joined(separator: "; "),
                            topLevel: [("problems", list)]).response
        }
        var headers = HTTPHeaders()
        headers.add(name: "Cache-Control", value: "no-store")
        return .json(.ok, bytes: Array(#"{"status":"ready"}"#.utf8), headers: headers)
    }

    static func metrics(_ text: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: ECDMetrics.contentType)
        headers.add(name: "Cache-Control", value: "no-store")
        return HTTPResponse(status: .ok, headers: headers, body: Array(text.utf8))
    }
}
