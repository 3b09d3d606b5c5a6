import ECDHTTP
import ECDTestSupport
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import ECDSimulator

/// A simulator on a real loopback port, with an HTTP client that does not follow redirects.
struct LiveSimulator {
    let simulator: CronofySimulator
    let client = LiveClient()

    init(_ configure: (inout SimulatorConfiguration) -> Void = { _ in }) throws {
        var configuration = SimulatorConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        configuration.callbackDelay = .milliseconds(5)
        configuration.callbackRetryBaseDelay = .milliseconds(50)
        configure(&configuration)
        simulator = CronofySimulator(configuration: configuration)
        try simulator.start()
    }

    func url(_ target: String) -> String { simulator.baseURL.absoluteString + target }
}

struct LiveResponse {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
    func json() throws -> [String: Any] { try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any]) }
}

final class LiveClient: Sendable {
    private let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }

    func send(_ method: String, _ url: String, body: String? = nil, contentType: String? = "application/json", bearer: String? = nil) async throws -> LiveResponse {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        request.timeoutInterval = 10
        if let body {
            request.httpBody = Data(body.utf8)
            if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        }
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        return LiveResponse(status: http.statusCode, headers: headers, body: data)
    }
}

/// Redirects are what is under test, so they are returned rather than followed.
private final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
