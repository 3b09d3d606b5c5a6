import FoundationEssentials

/// The sweep's half of refreshing.
extension TokenVault {
    /// Refreshes, before they expire, the tokens of service accounts and of accounts read
    /// recently; the others are refreshed lazily when next asked for. Spread with jitter so a
    /// batch of tokens issued together is not refreshed in one burst.
    func refreshAhead(limit: Int = 100) async {
        let now = Date()
        let horizon = now.addingTimeInterval(configuration.refreshLead.timeInterval)
        // A hot account's `last_used_at` may be up to the cache's `remarkAfter` (and a flush)
        // older than its last read: the window is widened by that, so no account read within
        // the window is left out.
        let recent = now.addingTimeInterval(-configuration.recentUseWindow.timeInterval - cache.remarkAfter
                                            - configuration.sweepInterval.timeInterval)
        let owners: [TokenOwner]
        do {
            owners = try await storage.read { try $0.refreshDue(horizon: horizon, usedSince: recent, now: now, limit: limit) }
        } catch {
            logger.error("refresh-ahead sweep failed", metadata: ["error": "\(error)"])
            return
        }
        guard !owners.isEmpty else { return }
        let spread = min(configuration.sweepInterval.timeInterval / 2, 5)
        let lead = configuration.refreshLead
        await withTaskGroup(of: Void.self) { group in
            for owner in owners {
                group.addTask {
                    let jitter = Double.random(in: 0...spread)
                    try? await Task.sleep(for: .milliseconds(Int64(jitter * 1000)))
                    guard !self.stopping else { return }
                    _ = try? await self.refreshedToken(owner, force: false, minValidity: lead)
                }
            }
        }
    }
}
