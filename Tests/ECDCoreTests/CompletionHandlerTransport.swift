import ECDCronofy
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A transport for the tests that never cancels a Swift task awaiting URLSession: the timeout is
/// URLSession's own (`timeoutInterval`), and the result comes back through a completion handler.
/// `URLSessionTransport` races `session.data(for:)` against a sleep and cancels the loser; on
/// Linux that cancellation can deadlock FoundationNetworking (the task-status lock and the
/// session's queue taken in opposite orders), which froze whole test runs when a simulated
/// Cronofy answered after the timeout.
final class CompletionHandlerTransport: CronofyTransport {
    private let session = URLSession(configuration: .ephemeral)

    func send(_ request: TransportRequest) async throws -> TransportResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers { urlRequest.addValue(value, forHTTPHeaderField: name) }
        if let body = request.body { urlRequest.httpBody = Data(body) }
        urlRequest.timeoutInterval = max(1, request.timeout.timeInterval.rounded(.up))
        let session = self.session
        return try await withCheckedThrowingContinuation { continuation in
            let task = session.dataTask(with: urlRequest) { data, response, error in
                if let error {
                    continuation.resume(throwing: (error as? URLError) ?? URLError(.cannotConnectToHost))
                    return
                }
                guard let http = response as? HTTPURLResponse else {
                    continuation.resume(throwing: URLError(.badServerResponse))
                    return
                }
                var headers: [String: String] = [:]
                for (name, value) in http.allHeaderFields {
                    if let name = name as? String, let value = value as? String { headers[name] = value }
                }
                continuation.resume(returning: TransportResponse(status: http.statusCode, headers: headers,
                                                                 body: Array(data ?? Data())))
            }
            task.resume()
        }
    }
}
