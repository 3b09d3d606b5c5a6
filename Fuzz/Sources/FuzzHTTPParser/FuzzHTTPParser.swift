import ECDHTTP

/// A comparable summary of what the parser made of an input.
struct Outcome: Equatable {
    var requests: [String] = []
    var continues = 0
    var error: Int?
}

/// Small limits, so that every limit is reachable by short inputs.
let limits: HTTPLimits = {
    var l = HTTPLimits()
    l.maxRequestLineBytes = 256
    l.maxHeaderBytes = 512
    l.maxHeaderCount = 8
    l.maxBodyBytes = 1024
    l.maxChunkLineBytes = 64
    return l
}()

/// Feeds `input` in pieces of `step` bytes, keeping what was not consumed, as a connection does.
func run(_ input: UnsafeRawBufferPointer, step: Int) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    var pending: [UInt8] = []
    var position = 0
    var rounds = 0
    while position < input.count {
        let end = min(position + step, input.count)
        pending.append(contentsOf: input[position..<end])
        position = end
        while true {
            rounds += 1
            // The parser must always make progress or ask for more: a loop here is a hang.
            precondition(rounds < 1_000_000, "parser does not make progress")
            let result: (consumed: Int, event: HTTPRequestParser.Event)
            do {
                result = try pending.withUnsafeBytes { try parser.parse($0) }
            } catch let error as HTTPParseError {
                outcome.error = error.status.code
                return outcome
            } catch {
                fatalError("untyped error escaped the parser")
            }
            precondition(result.consumed >= 0 && result.consumed <= pending.count, "consumed out of range")
            pending.removeFirst(result.consumed)
            switch result.event {
            case .needMore:
                break
            case .head(let head, let expectsContinue):
                precondition(head.body.isEmpty, "a head reported with body bytes")
                if expectsContinue { outcome.continues += 1 }
                continue
            case .request(let request, let keepAlive):
                precondition(request.body.count <= limits.maxBodyBytes, "body over the limit")
                precondition(request.headers.count <= limits.maxHeaderCount, "too many headers accepted")
                outcome.requests.append(
                    "\(request.method) \(request.target) \(request.path) \(request.version) \(keepAlive) "
                        + request.headers.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
                        + " body=\(request.body)")
                continue
            }
            break
        }
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let whole = run(input, step: max(size, 1))
    // Differential check: the result must not depend on how the bytes were split.
    let split = size > 0 ? Int(data[0] % 13) + 1 : 1
    let pieces = run(input, step: split)
    precondition(whole == pieces, "outcome depends on how the input is split: \(whole) vs \(pieces)")
    if size < 512 {
        let bytes = run(input, step: 1)
        precondition(whole == bytes, "outcome differs when fed byte by byte: \(whole) vs \(bytes)")
    }
    return 0
}
