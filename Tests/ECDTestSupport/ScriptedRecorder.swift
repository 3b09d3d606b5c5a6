import Foundation

/// The core of every recording test double (Cronofy transport, callback transport): records
/// what it was given and answers from a script, then with a default once the script ran out.
public final class ScriptedRecorder<Recorded: Sendable, Answer: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Recorded] = []
    private var script: [Answer]

    public init(_ script: [Answer] = []) { self.script = script }

    /// Replaces what the next calls answer.
    public func answer(_ answers: [Answer]) { lock.withLock { script = answers } }

    public var all: [Recorded] { lock.withLock { recorded } }

    /// Records `item` and returns the next scripted answer, or `otherwise` when none is left.
    public func record(_ item: Recorded, otherwise: Answer) -> Answer {
        record(otherwise: otherwise) { _ in item }
    }

    /// Records what `make` builds from the answer given (so the record can say what was answered).
    public func record(otherwise: Answer, _ make: (Answer) -> Recorded) -> Answer {
        lock.withLock {
            let answer = script.isEmpty ? otherwise : script.removeFirst()
            recorded.append(make(answer))
            return answer
        }
    }
}
