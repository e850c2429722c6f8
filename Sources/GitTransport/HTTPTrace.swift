import Foundation

/// The response headers git's HTTP transport received, read back from its curl trace.
///
/// git reports a failed HTTP request as one line (`The requested URL returned error: 403`) and keeps the response
/// headers to itself — yet they decide what the failure means: a 403 with `X-RateLimit-Remaining: 0` or
/// `Retry-After` is a host asking us to slow down (retry after the reset), not a refusal of the credentials; a 302's
/// `Location` names the host it wanted to send us to. So every session asks git to trace its HTTP headers
/// (`GIT_TRACE_CURL=<file>`, `GIT_TRACE_CURL_NO_DATA=1`: headers only, never bodies) into a file in the session's
/// private `HOME`, which is removed with the session. `GIT_TRACE_REDACT=1` (git's default, set explicitly) writes
/// `Authorization: Basic <redacted>` for the credentials we send; what is read back is scrubbed again anyway.
///
/// The lines look like (git 2.39):
/// ```
/// 02:30:01.219213 http.c:684              <= Recv header: HTTP/1.1 403 Forbidden
/// 02:30:01.219244 http.c:684              <= Recv header: X-RateLimit-Remaining: 0
/// ```
struct HTTPTrace {
    /// One response's status and headers (names lower-cased), in the order received.
    struct Response: Equatable {
        var status: Int
        var headers: [(name: String, value: String)]

        static func == (a: Response, b: Response) -> Bool {
            a.status == b.status && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
        }

        /// The last value of header `name` (case-insensitive).
        func header(_ name: String) -> String? {
            let name = name.lowercased()
            return headers.last { $0.name == name }?.value
        }

        /// How long the server asked us to wait, when it said so: `Retry-After` (seconds, or an HTTP date), else
        /// `X-RateLimit-Reset` (epoch seconds, GitHub and GitLab) when `X-RateLimit-Remaining` is 0. Never negative.
        func retryAfter(now: Date) -> Duration? {
            if let text = header("retry-after")?.trimmingCharacters(in: .whitespaces) {
                if let seconds = Int(text) { return .seconds(max(0, seconds)) }
                if let date = Self.httpDate(text) { return .seconds(max(0, Int(date.timeIntervalSince(now).rounded(.up)))) }
            }
            if header("x-ratelimit-remaining")?.trimmingCharacters(in: .whitespaces) == "0",
                let reset = header("x-ratelimit-reset").flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) })
            {
                return .seconds(max(0, reset - Int(now.timeIntervalSince1970)))
            }
            return nil
        }

        /// Whether the response says the request was throttled rather than refused: `Retry-After`, or a rate-limit
        /// budget of zero (`X-RateLimit-Remaining: 0`).
        var isRateLimit: Bool {
            header("retry-after") != nil || header("x-ratelimit-remaining")?.trimmingCharacters(in: .whitespaces) == "0"
        }

        /// The `host[:port]` of a redirect's `Location` (relative locations: nil). Only the authority is kept: a
        /// hostile server's URL is not echoed into our errors.
        var redirectHost: String? {
            guard let location = header("location"), let components = URLComponents(string: location),
                let host = components.host, !host.isEmpty
            else { return nil }
            let shown = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            let text = components.port.map { "\(shown):\($0)" } ?? shown
            guard text.count <= 255, text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else { return nil }
            return text.lowercased()
        }

        private static func httpDate(_ text: String) -> Date? {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            return formatter.date(from: text)
        }
    }

    /// At most this much of the end of a trace file is read: the last response is what matters.
    static let maxBytes = 64 * 1024

    /// The last complete response header block in the trace file at `path`, if any.
    static func lastResponse(inFile path: String) -> Response? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
        guard (try? handle.seek(toOffset: start)) != nil, let data = try? handle.readToEnd() else { return nil }
        return lastResponse(in: String(decoding: data, as: UTF8.self))
    }

    /// The last response header block in a trace's text: from the last `<= Recv header: HTTP/…` status line on.
    static func lastResponse(in text: String) -> Response? {
        let marker = "<= Recv header: "
        var response: Response?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let range = line.range(of: marker) else { continue }
            let header = line[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
            if header.hasPrefix("HTTP/") {
                // A status line starts a new response (an earlier one was a 100 Continue, or another request).
                let parts = header.split(separator: " ", maxSplits: 2)
                guard parts.count >= 2, let status = Int(parts[1]) else { continue }
                response = Response(status: status, headers: [])
            } else if let colon = header.firstIndex(of: ":"), response != nil {
                let name = header[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                response?.headers.append((name, value))
            }
        }
        return response
    }
}
