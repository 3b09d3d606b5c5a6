/// Small, self-contained HTML pages for the browser-facing routes of the public listener.
///
/// Every page is one document with inline CSS, no script and no external resource, so it renders
/// the same behind any proxy and with JavaScript off. Every interpolated value goes through
/// `HTMLEscaping.escape`; the page templates themselves hold only constant text.
struct HTMLPage: Sendable, Equatable {
    enum Tone: String, Sendable { case success, failure, neutral }

    var title: String
    var tone: Tone
    /// Paragraphs of plain text (escaped when rendered).
    var paragraphs: [String]
    /// Label/value rows shown as a definition list (both escaped).
    var facts: [(label: String, value: String)]
    /// A button that `POST`s an empty form to `action` (a path of this listener); the only way a
    /// page asks the person to act, so that a mere fetch of the page changes nothing.
    var button: Button?

    struct Button: Sendable, Equatable {
        var action: String
        var label: String
    }

    init(title: String, tone: Tone, paragraphs: [String], facts: [(label: String, value: String)] = [],
         button: Button? = nil) {
        self.title = title
        self.tone = tone
        self.paragraphs = paragraphs
        self.facts = facts
        self.button = button
    }

    static func == (lhs: HTMLPage, rhs: HTMLPage) -> Bool {
        lhs.title == rhs.title && lhs.tone == rhs.tone && lhs.paragraphs == rhs.paragraphs
            && lhs.facts.map(\.label) == rhs.facts.map(\.label) && lhs.facts.map(\.value) == rhs.facts.map(\.value)
            && lhs.button == rhs.button
    }

    var rendered: String {
        let e = HTMLEscaping.escape
        var html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex">
        <title>\(e(title)) · ecd</title>
        <style>\(Self.style)</style>
        </head>
        <body>
        <main class="\(tone.rawValue)">
        <h1>\(e(title))</h1>

        """
        for paragraph in paragraphs { html += "<p>\(e(paragraph))</p>\n" }
        if !facts.isEmpty {
            html += "<dl>\n"
            for fact in facts { html += "<dt>\(e(fact.label))</dt><dd>\(e(fact.value))</dd>\n" }
            html += "</dl>\n"
        }
        if let button {
            html += "<form method=\"post\" action=\"\(e(button.action))\"><button type=\"submit\">\(e(button.label))</button></form>\n"
        }
        html += """
        </main>
        </body>
        </html>

        """
        return html
    }

    private static let style = """
    body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f5f5f4;color:#1c1917;\
    margin:0;padding:2rem 1rem}\
    main{max-width:36rem;margin:0 auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;\
    border-top:6px solid #78716c;box-shadow:0 1px 3px rgba(0,0,0,.1)}\
    main.success{border-top-color:#16a34a}main.failure{border-top-color:#dc2626}\
    h1{font-size:1.4rem;margin:0 0 1rem}\
    dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0 0}\
    dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\
    form{margin:1.5rem 0 0}button{font:inherit;font-weight:600;color:#fff;background:#2563eb;border:0;\
    border-radius:6px;padding:.6rem 1.2rem;cursor:pointer}button:hover{background:#1d4ed8}
    """
}

/// HTML escaping of text placed in element content or in a double-quoted attribute value.
enum HTMLEscaping {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
