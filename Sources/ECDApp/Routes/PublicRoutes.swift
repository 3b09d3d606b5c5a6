import ECDCore
import ECDHTTP
import Logging

/// The public listener (api-contract.md §3): what Cronofy and admins' browsers reach through the
/// reverse proxy. Nothing else is served here; every other path is a small 404 page.
struct PublicRoutes: Sendable {
    let core: EnterpriseConnect
    let logger: Logger
    /// Whether `public.base_url` is https: the state cookie is then `Secure`.
    let secureCookies: Bool
    /// How the connect page names the application (`cronofy.application_name`, else the client id).
    let applicationName: String
    /// `scheme://host[:port]` of Cronofy's app pages, where the connect page's form may redirect.
    let cronofyOrigin: String

    static let stateCookieName = "ecd_connect_state"
    static let callbackPath = "/oauth/callback"

    func makeTable() -> RouteTable {
        var table = RouteTable()
        table.immediate(.get, "/healthz") { _, _ in SystemRoutes.healthy() }
        // GET (and so HEAD) only shows the link; POST, the page's button, spends it.
        table.deferred(.get, "/connect/{link}") { request, context in
            try await showConnectLink(link: try context.parameter("link"), path: request.path)
        }
        table.deferred(.post, "/connect/{link}") { _, context in
            try await beginConnect(link: try context.parameter("link"))
        }
        table.deferred(.get, Self.callbackPath) { request, _ in
            await completeConnect(request)
        }
        table.deferred(.post, "/callbacks/delegated/{request}") { request, context in
            try await receiveDelegatedCallback(request, requestID: try context.parameter("request"))
        }
        // Marked so that `ecd` pointed here by mistake can say which listener it reached.
        table.router.notFound = { _, _ in
            var page = PublicPages.notFound()
            page.headers.add(name: "X-ECD-Listener", value: "public")
            return page
        }
        let renderer = CoreErrorMapping.renderer(logger: logger)
        let logger = self.logger
        table.router.unexpectedError = { error, request, context in
            // The delegated callback is JSON for Cronofy; everything else is seen in a browser.
            if request.path.hasPrefix("/callbacks/") { return renderer(error, request, context) }
            if case .cronofyUnavailable? = error as? CoreError { return PublicPages.unavailable() }
            CoreErrorMapping.logUnexpected(error, context: context, logger: logger)
            return PublicPages.internalError(requestID: context.requestID)
        }
        return table
    }

    // MARK: Handlers

    private func showConnectLink(link: String, path: String) async throws -> HTTPResponse {
        let preview: ConnectLinkPreview
        do {
            preview = try await core.previewConnectLink(link: link)
        } catch CoreError.linkUnusable {
            return PublicPages.linkUnusable()
        }
        return PublicPages.connectLanding(application: applicationName, label: preview.label,
                                          expiresAt: ISO8601.string(from: preview.expiresAt), action: path,
                                          cronofyOrigin: cronofyOrigin)
    }

    /// 303 (RFC 9110 §15.4.4): the browser follows a POST's redirect with a GET.
    private func beginConnect(link: String) async throws -> HTTPResponse {
        let redirect: ConnectRedirect
        do {
            redirect = try await core.beginConnect(link: link)
        } catch CoreError.linkUnusable {
            return PublicPages.linkUnusable()
        }
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: redirect.authorizeURL.absoluteString)
        headers.add(name: "Set-Cookie", value: stateCookie(value: redirect.stateCookieValue,
                                                            maxAge: Int(redirect.cookieMaxAge.components.seconds)))
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "Referrer-Policy", value: "no-referrer")
        return HTTPResponse(status: .seeOther, headers: headers)
    }

    private func completeConnect(_ request: HTTPRequest) async -> HTTPResponse {
        let query = request.queryItems
        func value(_ name: String) -> String? { query.first { $0.name == name }?.value }
        var response: HTTPResponse
        do {
            let account = try await core.completeConnect(
                code: value("code"), state: value("state"), error: value("error"),
                cookieState: Self.cookie(named: Self.stateCookieName, in: request.headers))
            response = PublicPages.connected(email: account.email, domain: account.domain,
                                             provider: account.provider, serviceAccountID: account.id)
        } catch CoreError.badState(let message) {
            response = PublicPages.connectFailed(reason: "The sign-in could not be matched to this browser: \(message)")
        } catch CoreError.connectFailed(let message) {
            response = PublicPages.connectFailed(reason: message)
        } catch CoreError.cronofyUnavailable {
            response = PublicPages.connectFailed(reason: "Cronofy could not be reached to complete the connection.")
        } catch {
            logger.error("connect completion failed", metadata: [
                "error_type": .string(String(reflecting: type(of: error))),
                "error": .string(String(describing: error)),
            ])
            response = PublicPages.connectFailed(reason: "The connection could not be completed.")
        }
        // The state is single use whatever the outcome: drop the cookie.
        response.headers.add(name: "Set-Cookie", value: stateCookie(value: "", maxAge: 0))
        return response
    }

    private func receiveDelegatedCallback(_ request: HTTPRequest, requestID: String) async throws -> HTTPResponse {
        try await core.receiveDelegatedCallback(requestID: requestID, body: request.body,
                                          signatureHeader: request.headers["Cronofy-HMAC-SHA256"])
        return .json(.ok, bytes: Array(#"{"status":"accepted"}"#.utf8))
    }

    // MARK: Cookies

    /// Scoped to the callback path: the browser sends it back only there, never to other routes.
    func stateCookie(value: String, maxAge: Int) -> String {
        var cookie = "\(Self.stateCookieName)=\(value); Path=\(Self.callbackPath); Max-Age=\(maxAge); HttpOnly; SameSite=Lax"
        if secureCookies { cookie += "; Secure" }
        return cookie
    }

    /// The value of cookie `name` from the request's `Cookie` header(s) (RFC 6265 §5.4 form).
    static func cookie(named name: String, in headers: HTTPHeaders) -> String? {
        for header in headers.values(for: "Cookie") {
            for pair in header.split(separator: ";") {
                let trimmed = String(pair).trimmingASCIIWhitespace()
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                if trimmed[..<equals] == name { return String(trimmed[trimmed.index(after: equals)...]) }
            }
        }
        return nil
    }
}
