import ECDHTTP

/// The simulator's browser pages: small, self-contained, readable without JavaScript. The
/// approval page's buttons are two plain forms that POST to the decision endpoint.
enum AuthorizePage {
    static func approval(id: String, clientID: String, approval: PendingApproval) -> HTTPResponse {
        let scopes = approval.scope.split(separator: " ").map { "<li><code>\(HTML.escape(String($0)))</code></li>" }
        let delegated = approval.delegatedScope.split(separator: " ").map { "<li><code>\(HTML.escape(String($0)))</code></li>" }
        let body = """
            <h1>Connect a service account</h1>
            <p>The application <code>\(HTML.escape(clientID))</code> asks to connect the service account
            <strong>\(HTML.escape(approval.identity.email))</strong>
            (domain <strong>\(HTML.escape(approval.identity.domain))</strong>,
            provider <strong>\(HTML.escape(approval.identity.provider))</strong>).</p>
            <h2>Service account scope</h2>
            <ul>\(scopes.joined())</ul>
            <h2>Delegated scope (the most it may ask for each user or resource)</h2>
            <ul>\(delegated.joined())</ul>
            <p>You will be sent back to <code>\(HTML.escape(approval.redirectURI))</code>.</p>
            <div class="actions">
            \(form(id: id, decision: "approve", label: "Approve"))
            \(form(id: id, decision: "deny", label: "Deny"))
            </div>
            """
        return page(status: .ok, title: "Cronofy simulator: connect a service account", body: body)
    }

    static func problem(_ title: String, _ message: String) -> HTTPResponse {
        page(status: .badRequest, title: "Cronofy simulator: \(title)",
             body: "<h1>\(HTML.escape(title))</h1><p>\(HTML.escape(message))</p>")
    }

    private static func form(id: String, decision: String, label: String) -> String {
        """
        <form method="post" action="/enterprise_connect/oauth/decision">
        <input type="hidden" name="approval" value="\(HTML.escape(id))">
        <input type="hidden" name="decision" value="\(decision)">
        <button type="submit" name="submit" value="\(decision)">\(label)</button>
        </form>
        """
    }

    private static func page(status: HTTPStatus, title: String, body: String) -> HTTPResponse {
        let html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title))</title>
            <style>
            body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
            code { background: #f3f3f3; padding: 0 .2rem; }
            .actions { display: flex; gap: 1rem; margin-top: 1.5rem; }
            button { font-size: 1rem; padding: .5rem 1.5rem; }
            </style>
            </head>
            <body>
            \(body)
            </body>
            </html>
            """
        var headers = HTTPHeaders()
        headers.add(name: "Cache-Control", value: "no-store")
        return .html(status, html, headers: headers)
    }
}
