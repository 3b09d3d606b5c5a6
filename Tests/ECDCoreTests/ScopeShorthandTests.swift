import ECDCore
import ECDSimulator
import Foundation
import Testing

/// Issue 11, item 7: scopes as Cronofy writes them. Free/busy-only mailboxes (rooms) are asked
/// for `free_busy`, and Cronofy's shorthands are read as the words they stand for in the local
/// ceiling check, while Cronofy receives them exactly as written. Against the simulator.
@Suite("Scopes as Cronofy writes them", .serialized)
struct ScopeShorthandTests {
    static let room = "board-room-london@example.com"
    static let otherRoom = "meeting-room-1@example.com"

    @Test(arguments: StorageDriver.allCases) func freeBusyRoomsAndShorthandsWithinTheCeiling(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount(delegatedScope: "read_write free_busy")
        harness.simulator.control.freeBusyOnly(email: Self.room)
        harness.simulator.control.freeBusyOnly(email: Self.otherRoom)
        harness.core.start()
        _ = try await harness.core.requestAccounts([
            AccountRequestEntry(email: Self.room, scope: "free_busy"),
            AccountRequestEntry(email: "jane@example.com", scope: "read_events create_event"),
            AccountRequestEntry(email: "joe@example.com", scope: "read_only"),
            AccountRequestEntry(email: Self.otherRoom, scope: "read_only"),
        ])
        for (email, scope) in [(Self.room, "free_busy"), ("jane@example.com", "read_events create_event"), ("joe@example.com", "read_only")] {
            let account = try await harness.waitForStatus(email, .active)
            #expect(account.status == .active && account.scope == scope, "\(email)")
        }
        // A free/busy-only mailbox refuses anything more than free_busy, as Cronofy does.
        #expect(try await harness.waitForStatus(Self.otherRoom, .failed).error?.error == "unable_to_grant_scope")
        // Sent as written: the shorthand, not its expansion.
        let sent = harness.simulator.control.calls(.authorizations).map(\.body).joined()
        #expect(sent.contains(#""scope":"read_only""#) && sent.contains(#""scope":"free_busy""#))
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func scopesBeyondTheCeilingAreRefusedLocally(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount(delegatedScope: "read_only free_busy")
        harness.core.start()
        for scope in ["read_write", "create_event", "free_busy_write", "create_calendar"] {
            await #expect(throws: CoreError.self, "\(scope)") {
                try await harness.core.requestAccounts([AccountRequestEntry(email: "jane@example.com", scope: scope)])
            }
        }
        // read_events (within read_only) and read_free_busy (implied by it) pass.
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "jane@example.com", scope: "read_events read_free_busy")])
        #expect(try await harness.waitForStatus("jane@example.com", .active).status == .active)
        #expect(harness.simulator.control.calls(.authorizations).count == 1)
        await harness.stop()
    }
}
