/// A parsed request. The target is origin-form (`/path?query`); `path` is percent-decoded,
/// `rawPath` is as received, so routes can match either.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request-target exactly as received (`/a%40b?x=1`).
    public var target: String
    /// The path part of the target, percent-decoded (`/a@b`).
    public var path: String
    /// The path part of the target, as received (`/a%40b`).
    public var rawPath: String
    /// The query string without `?`, as received, or nil when the target has none.
    public var rawQuery: String?
    /// Query parameters in order, percent-decoded, `+` read as space (form encoding).
    public var queryItems: [(name: String, value: String)]
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(
        method: HTTPMethod, target: String, path: String, rawPath: String, rawQuery: String?,
        queryItems: [(name: String, value: String)], version: HTTPVersion, headers: HTTPHeaders,
        body: [UInt8]
    ) {
        self.method = method
        self.target = target
        self.path = path
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.queryItems = queryItems
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The first value of query parameter `name`.
    public func query(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }
}
