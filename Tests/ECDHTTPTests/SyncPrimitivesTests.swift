import ECDSync
import Foundation
import Testing

/// The pthread lock, condition and threads that replaced NSLock, NSCondition and Thread (issue
/// 14). ThreadSanitizer (`swift test --sanitize=thread` in CI) checks they are seen as locks.
@Suite("Sync primitives")
struct SyncPrimitivesTests {
    @Test func lockedSerializesWriters() async {
        let counter = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<10_000 { counter.withLock { $0 += 1 } } }
            }
        }
        #expect(counter.withLock { $0 } == 80_000)
    }

    @Test func conditionWakesAWaiterOnAnotherThread() {
        let condition = Condition()
        nonisolated(unsafe) var ready = false
        let finished = Locked(false)
        OSThread.start(name: "ecd-test-waker") {
            condition.withLock {
                ready = true
                condition.broadcast()
            }
            finished.withLock { $0 = true }
        }
        condition.lock()
        while !ready {
            #expect(condition.wait(until: .after(.seconds(10))), "no wake-up within 10 s")
        }
        condition.unlock()
        #expect(ready)
    }

    @Test func timedWaitGivesUpAtItsDeadline() {
        let condition = Condition()
        let start = ContinuousClock.now
        condition.lock()
        let woken = condition.wait(until: .after(.milliseconds(100)))
        condition.unlock()
        let waited = ContinuousClock.now - start
        #expect(!woken)
        #expect(waited >= .milliseconds(95))
        let pastStart = ContinuousClock.now
        condition.withLock { #expect(!condition.wait(until: .after(.seconds(-1)))) }
        #expect(ContinuousClock.now - pastStart < .seconds(1))
    }

    @Test func threadIsNamedAndKnowsItself() {
        let condition = Condition()
        nonisolated(unsafe) var seen: (name: String, isCurrent: Bool)?
        nonisolated(unsafe) var id: pthread_t?
        condition.lock()
        id = OSThread.start(name: "ecd-test-a-rather-long-name") {
            let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            condition.withLock {
                while id == nil { condition.wait() }
                seen = (name.trimmingCharacters(in: .newlines), OSThread.isCurrent(id))
                condition.broadcast()
            }
        }
        condition.broadcast()
        while seen == nil { #expect(condition.wait(until: .after(.seconds(10)))) }
        condition.unlock()
        #expect(seen?.name == "ecd-test-a-rath")   // the kernel keeps 15 bytes
        #expect(seen?.isCurrent == true)
        #expect(!OSThread.isCurrent(id))
        #expect(!OSThread.isCurrent(nil))
    }

    @Test func sleepSleeps() {
        let start = ContinuousClock.now
        OSThread.sleep(.milliseconds(50))
        OSThread.sleep(seconds: 0.05)
        OSThread.sleep(.zero)
        #expect(ContinuousClock.now - start >= .milliseconds(95))
    }
}
