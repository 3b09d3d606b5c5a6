import ECDHTTP

extension HTTPRequest {
    /// A request as the parser would have produced it from `method target HTTP/1.1`: the path
    /// percent-decoded, the query split into decoded items (`+` as a space).
    public static func make(
        _ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []
    ) -> HTTPRequest {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rawPath = String(parts[0])
        let rawQuery = parts.count > 1 ? String(parts[1]) : nil
        let items = (rawQuery ?? "").split(separator: "&").map { pair -> (name: String, value: String) in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (PercentDecoding.decode(kv[0], plusAsSpace: true) ?? "",
                    PercentDecoding.decode(kv.count > 1 ? kv[1] : "", plusAsSpace: true) ?? "")
        }
        return HTTPRequest(
            method: method, target: target, path: PercentDecoding.decode(rawPath) ?? rawPath, rawPath: rawPath,
            rawQuery: rawQuery, queryItems: items, version: .http1_1, headers: headers, body: body)
    }
}

extension HTTPResponder {
    /// The response a server would send to `request`, without a server: deferred work awaited.
    /// `Router` renders every error of its handlers, so 599, a status no handler sends, marks one
    /// that escaped.
    public func run(_ request: HTTPRequest, context: RequestContext = RequestContext(requestID: "test")) async -> HTTPResponse {
        switch respond(to: request, context: context) {
        case .response(let response): return response
        case .deferred(let work): return (try? await work()) ?? HTTPResponse(status: .init(code: 599))
        }
    }
}
