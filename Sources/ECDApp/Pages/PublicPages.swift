import ECDHTTP

/// The pages a person sees on the public listener: the outcome of connecting a service account,
/// an unusable connect link, and the fallbacks. Texts say what happened and what to do next.
enum PublicPages {
    static func connected(email: String?, domain: String?, provider: String?, serviceAccountID: String) -> HTTPResponse {
        var facts: [(label: String, value: String)] = []
        if let domain { facts.append(("Domain", domain)) }
        if let provider { facts.append(("Provider", provider)) }
        if let email { facts.append(("Service account", email)) }
        facts.append(("Id", serviceAccountID))
        let page = HTMLPage(
            title: "Service account connected",
            tone: .success,
            paragraphs: [
                "The service account is connected to Cronofy through this daemon.",
                "Calendars of the accounts it manages can now be requested. You can close this window.",
            ],
            facts: facts)
        return respond(.ok, page)
    }

    /// The connect link's landing page. Fetching it (a link preview, a mail scanner, the admin)
    /// changes nothing; its button `POST`s back to the same path, which spends the link and
    /// redirects to Cronofy, so the form may go there too (`form-action` covers the redirect).
    static func connectLanding(application: String, label: String?, expiresAt: String, action: String,
                               cronofyOrigin: String) -> HTTPResponse {
        var facts: [(label: String, value: String)] = [("Cronofy application", application)]
        if let label { facts.append(("Link label", label)) }
        facts.append(("Link valid until", expiresAt))
        let page = HTMLPage(
            title: "Connect a service account",
            tone: .neutral,
            paragraphs: [
                "This one-time link connects your organization's calendar service account to the Cronofy application below.",
                "Continue to sign in as an administrator at Cronofy. The link works once: "
                    + "if you continue and do not finish, ask for a new link.",
            ],
            facts: facts,
            button: HTMLPage.Button(action: action, label: "Continue to Cronofy"))
        return respond(.ok, page, formAction: "'self' " + cronofyOrigin)
    }

    static func connectFailed(reason: String) -> HTTPResponse {
        let page = HTMLPage(
            title: "Connection failed",
            tone: .failure,
            paragraphs: [
                reason,
                "Nothing was connected. Ask for a new connect link and try again.",
            ])
        return respond(.badRequest, page)
    }

    static func linkUnusable() -> HTTPResponse {
        let page = HTMLPage(
            title: "This link cannot be used",
            tone: .failure,
            paragraphs: [
                "This connect link is unknown, has already been used, or has expired (links are valid for 30 minutes and work once).",
                "Ask for a new connect link.",
            ])
        return respond(.gone, page)
    }

    static func unavailable() -> HTTPResponse {
        let page = HTMLPage(
            title: "Temporarily unavailable",
            tone: .failure,
            paragraphs: ["Cronofy could not be reached. Please try again in a few minutes."])
        return respond(.serviceUnavailable, page)
    }

    static func notFound() -> HTTPResponse {
        respond(.notFound, HTMLPage(title: "Not found", tone: .neutral, paragraphs: ["There is nothing at this address."]))
    }

    static func internalError(requestID: String) -> HTTPResponse {
        let page = HTMLPage(
            title: "Something went wrong",
            tone: .failure,
            paragraphs: [
                "The daemon could not complete this request.",
                "If this keeps happening, give the operator this request id: \(requestID)",
            ])
        return respond(.internalServerError, page)
    }

    private static func respond(_ status: HTTPStatus, _ page: HTMLPage, formAction: String = "'none'") -> HTTPResponse {
        var headers = HTTPHeaders()
        // Pages may follow a URL that carried a code or state: never cache, never leak the URL.
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "Referrer-Policy", value: "no-referrer")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Content-Security-Policy",
                    value: "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action \(formAction)")
        return .html(status, page.rendered, headers: headers)
    }
}
