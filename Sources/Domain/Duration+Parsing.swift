import Foundation

/// `500ms`, `30s`, `5m`, `24h`, `7d`; nil when malformed or longer than 100 years (no setting needs more,
/// and a larger number would overflow the conversion to milliseconds).
public func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
    let t = text.trimmingCharacters(in: .whitespaces)
    for (suffix, factor) in units where t.hasSuffix(suffix) {
        let number = t.dropLast(suffix.count)
        // "ms" must not be read as "m" + "s".
        if suffix == "s" && number.hasSuffix("m") { continue }
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        let milliseconds = (value * factor * 1000).rounded()
        guard milliseconds <= 100 * 365.25 * 86_400_000 else { return nil }
        return .milliseconds(Int64(milliseconds))
    }
    return nil
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
