import ECDCronofy
import ECDCrypto
import FoundationEssentials

/// Delivers every event, in order, to `events.webhook_url`, signed with
/// `ECD-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256("<t>.<body>")>` (one `v1=` per configured
/// secret during a rotation); retried with back-off until a 2xx, the cursor persisted after each
/// accepted event. Each attempt is signed afresh, so a retry carries a current timestamp and a
/// receiver may refuse old ones (a replayed delivery).
extension EventFeed {
    func runWebhookDelivery() async {
        guard let url = configuration.webhookURL else { return }
        var failures = 0
        while !stopping {
            let batch: (cursor: Int64, events: [Event])
            do {
                batch = try await storage.read { reader in
                    let cursor = try reader.webhookCursor()
                    return (cursor, try reader.events(after: cursor, limit: 100))
                }
            } catch {
                logger.error("reading events for the webhook failed", metadata: ["error": "\(error)"])
                await webhookSignal.wait(timeout: .seconds(5))
                continue
            }
            if batch.events.isEmpty {
                await webhookSignal.wait(timeout: .milliseconds(500))
                continue
            }
            for event in batch.events {
                if stopping { return }
                if await deliver(event, to: url) {
                    failures = 0
                    metrics.webhookDeliveries.increment()
                    do {
                        try await storage.transaction { try $0.advanceWebhookCursor(to: event.id) }
                    } catch {
                        logger.error("saving the webhook cursor failed", metadata: ["error": "\(error)"])
                    }
                } else {
                    failures += 1
                    metrics.webhookFailures.increment()
                    let delay = Backoff.delay(failures: failures, cap: configuration.maxBackoff)
                    logger.warning("webhook delivery failed, will retry",
                                   metadata: ["event_id": .stringConvertible(event.id), "failures": .stringConvertible(failures)])
                    await webhookSignal.wait(timeout: delay)
                    break
                }
            }
        }
    }

    private func deliver(_ event: Event, to url: URL) async -> Bool {
        guard let body = try? JSONEncoder.ecd().encode(event) else { return false }
        let bytes = Array(body)
        let signature = WebhookSignature.header(secrets: configuration.webhookSecrets, body: bytes,
                                                timestamp: Int64(Date().timeIntervalSince1970))
        let request = TransportRequest(method: "POST", url: url,
                                       headers: [("Content-Type", "application/json"), ("ECD-Signature", signature),
                                                 ("User-Agent", "ecd-webhook")],
                                       body: bytes, timeout: .seconds(10))
        do {
            let response = try await webhookTransport.send(request)
            return (200..<300).contains(response.status)
        } catch {
            return false
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
