import ECDURLSession
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `CronofyTransport` over Foundation's URLSession.
///
/// The session is ephemeral with cookies and caching switched off: every call carries its own
/// credentials, and token responses must never be stored anywhere on disk or in memory caches.
/// Redirects are refused (a redirected POST to `/oauth/token` would re-send the client secret to
/// wherever the redirect points, and lose its body on a 302/303), so a 3xx surfaces as a status.
public final class URLSessionTransport: CronofyTransport, @unchecked Sendable {
    // @unchecked: URLSession is thread-safe but not marked Sendable on every platform; both stored
    // properties are immutable after init.
    private let session: URLSession
    private let delegate: RedirectRefusingDelegate

    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.urlCredentialStorage = nil
        delegate = RedirectRefusingDelegate()
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
    }

    deinit {
        session.invalidateAndCancel()
    }

    public func send(_ request: TransportRequest) async throws -> TransportResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.cachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        urlRequest.httpShouldHandleCookies = false
        // swift-corelibs-foundation truncates the interval to whole seconds (0.3 s becomes an
        // immediate timeout), so round up here; SessionExchange enforces the exact deadline.
        urlRequest.timeoutInterval = max(1, request.timeout.timeInterval.rounded(.up))
        for (name, value) in request.headers {
            urlRequest.addValue(value, forHTTPHeaderField: name)
        }
        if let body = request.body { urlRequest.httpBody = Data(body) }

        // `timeoutInterval` is an idle timeout; `SessionExchange` makes `timeout` a hard deadline
        // for the whole exchange, as the configuration promises, and cancels safely.
        let (data, response) = try await SessionExchange.send(urlRequest, on: session, timeout: request.timeout)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            headers[String(describing: key).lowercased()] = String(describing: value)
        }
        return TransportResponse(status: http.statusCode, headers: headers, body: [UInt8](data))
    }
}

private final class RedirectRefusingDelegate: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask,
                    willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest,
                    completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

extension Duration {
    /// Seconds as a floating-point number (for Foundation APIs).
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
