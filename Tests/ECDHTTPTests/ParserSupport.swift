@testable import ECDHTTP

/// What the parser made of a byte stream.
struct ParseOutcome {
    var requests: [(request: HTTPRequest, keepAlive: Bool)] = []
    var continues = 0
    var error: HTTPParseError?
    var status: Int? { error?.status.code }
    var first: HTTPRequest? { requests.first?.request }
}

/// Feeds `input` to a parser the way a connection does: in pieces of `step` bytes (all at once
/// when nil), keeping what the parser did not consume and presenting it again with more.
func parse(_ input: [UInt8], limits: HTTPLimits = HTTPLimits(), step: Int? = nil) -> ParseOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = ParseOutcome()
    var pending: [UInt8] = []
    var position = 0
    let size = step ?? max(input.count, 1)
    while position < input.count {
        let end = min(position + size, input.count)
        pending.append(contentsOf: input[position..<end])
        position = end
        while true {
            let result: (consumed: Int, event: HTTPRequestParser.Event)
            do {
                result = try pending.withUnsafeBytes { try parser.parse($0) }
            } catch let error as HTTPParseError {
                outcome.error = error
                return outcome
            } catch {
                fatalError("untyped error")
            }
            pending.removeFirst(result.consumed)
            switch result.event {
            case .needMore: break
            case .head(_, let expectsContinue): if expectsContinue { outcome.continues += 1 }; continue
            case .request(let request, let keepAlive): outcome.requests.append((request, keepAlive)); continue
            }
            break
        }
    }
    return outcome
}

func parse(_ text: String, limits: HTTPLimits = HTTPLimits(), step: Int? = nil) -> ParseOutcome {
    parse(Array(text.utf8), limits: limits, step: step)
}

/// Whole input and byte-at-a-time must agree; the tests run both.
let feedSteps: [Int?] = [nil, 1, 7]
