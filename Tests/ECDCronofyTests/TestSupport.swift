import ECDHTTPClient
import ECDTestSupport
import Foundation
@testable import ECDCronofy

/// An in-memory transport: answers from a script, records every request it was given.
final class RecordingTransport: CronofyTransport, Sendable {
    enum Reply: Sendable {
        case response(TransportResponse)
        case failure(any Error & Sendable)
    }

    private let recorder: ScriptedRecorder<TransportRequest, Reply?>

    init(_ script: [Reply]) { recorder = ScriptedRecorder(script) }

    convenience init(status: Int, json: String = "", headers: [String: String] = [:]) {
        self.init([.response(TransportResponse(status: status, headers: headers, body: Array(json.utf8)))])
    }

    var requests: [TransportRequest] { recorder.all }

    func send(_ request: TransportRequest) async throws -> TransportResponse {
        switch recorder.record(request, otherwise: nil) {
        case .response(let response): return response
        case .failure(let error): throw error
        case nil: throw HTTPClientError.invalidRequest("no reply scripted")   // the test scripted too few replies
        }
    }
}

extension RecordingTransport.Reply {
    static func status(_ code: Int, _ json: String = "", headers: [String: String] = [:]) -> Self {
        .response(TransportResponse(status: code, headers: headers, body: Array(json.utf8)))
    }
}

/// Records the delays the client asked to sleep, without sleeping.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Duration] = []
    var delays: [Duration] { lock.withLock { recorded } }
    func sleep(_ duration: Duration) { lock.withLock { recorded.append(duration) } }
}

/// Lock-protected list of metrics hook calls.
final class CallLog: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [(String, String)] = []
    var calls: [(String, String)] { lock.withLock { recorded } }
    func add(_ endpoint: String, _ outcome: String) { lock.withLock { recorded.append((endpoint, outcome)) } }
}

enum Fixture {
    static let clientID = "cid_test_client"
    static let clientSecret = "CRN_secretSECRETsecret0123456789"

    static func configuration(api: String = "https://api.cronofy.com", app: String = "https://app.cronofy.com") -> CronofyConfiguration {
        CronofyConfiguration(clientID: clientID, clientSecret: clientSecret,
                             apiURL: URL(string: api)!, appURL: URL(string: app)!)
    }

    static func client(_ transport: RecordingTransport, policy: RetryPolicy = RetryPolicy(),
                       sleeper: SleepRecorder = SleepRecorder(), jitter: Double = 1.0,
                       configuration: CronofyConfiguration = configuration()) -> CronofyClient {
        CronofyClient(configuration: configuration, transport: transport,
                      budget: RequestBudget(requestsPerMinute: 600_000, burst: 10_000), retryPolicy: policy,
                      sleep: { sleeper.sleep($0) }, random: { jitter })
    }
}

/// Parses JSON bytes into Foundation objects for semantic comparison (key order and escaping
/// of `/` do not matter).
func jsonObject(_ bytes: [UInt8]?) -> NSObject? {
    guard let bytes else { return nil }
    return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? NSObject
}

func jsonObject(_ text: String) -> NSObject? { jsonObject(Array(text.utf8)) }

func headerPairs(_ request: TransportRequest) -> [String: String] {
    var result: [String: String] = [:]
    for (name, value) in request.headers { result[name.lowercased()] = value }
    return result
}
