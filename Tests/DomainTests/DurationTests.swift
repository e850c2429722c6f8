import Domain
import Testing

@Suite("Durations")
struct DurationTests {
    @Test func unitsParse() {
        #expect(parseDuration("500ms") == .milliseconds(500))
        #expect(parseDuration("30s") == .seconds(30))
        #expect(parseDuration("5m") == .seconds(300))
        #expect(parseDuration("1.5h") == .seconds(5400))
        #expect(parseDuration("7d") == .seconds(7 * 86_400))
    }

    /// Found by schemathesis: `5110173610799.450d` overflowed the conversion and crashed the server.
    @Test func malformedAndHugeValuesAreRefusedNotTrapped() {
        for text in ["", "d", "-1s", "1x", "5110173610799.450d", "1e300ms", "nan s", "inf h", "00000000000000000000000000ms"] {
            let parsed = parseDuration(text)
            #expect(parsed == nil || parsed == .zero, "\(text)")
        }
        #expect(parseDuration("101y") == nil)
        #expect(parseDuration("36600d") == nil, "over 100 years")
    }
}
