#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import FoundationEssentials
#endif

extension Duration {
    /// Seconds as a floating-point number (for Foundation's Date arithmetic).
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
