import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// gzip for answers that are text and whole: the dashboard's pages (a watchlist of 500 entries is 430 KiB of HTML),
/// the JSON API's lists, error pages.
///
/// An answer is compressed when all of these hold, and sent as it is otherwise:
/// - its `Content-Type` is text (HTML, CSS, JavaScript, JSON, SVG, plain text) and it has no `Content-Encoding`;
/// - its length is known and at least ``minimumBytes`` (a stream — Server-Sent Events, a WebSocket upgrade — has no
///   length and is never held back to be compressed; a small answer gains less than gzip's framing costs);
/// - it carries no `ETag`: a validator names one representation, and a gzip body is another (RFC 9110 §8.8.3). The
///   answers with one — the status endpoint, badges, the stylesheet and the script — are small or answered with 304;
/// - the request's `Accept-Encoding` accepts gzip (`gzip`, or `*`, with a q-value above 0).
///
/// Every answer that could have been compressed says `Vary: Accept-Encoding`, whether this client took gzip or not,
/// so that no cache hands one client's encoding to another.
struct CompressionMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Smaller answers go as they are.
    static var minimumBytes: Int { 1024 }
    /// zlib's level (1–9). On 500 watchlist rows (512 KB of HTML, this machine's zlib, 2026-12-08): level 1 gives 33.5 KB
    /// in 0.95 ms, 4 gives 30.2 KB in 1.9 ms, 6 (zlib's default) 29.9 KB in 2.7 ms, 9 29.9 KB in 6.3 ms.
    static var level: Int32 { 4 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard Self.isCandidate(response) else { return response }
        response.headers.appendVary("Accept-Encoding")
        guard Self.acceptsGzip(request.headers[values: .acceptEncoding]) else { return response }
        var plain = try await Self.collect(response.body)
        let plainBytes = plain.readableBytes
        // Compression cannot always win (already compressed bytes inside text), and zlib may fail (no memory): then
        // the original bytes go — the answer is never lost to its encoding.
        guard let compressed = try? plain.compress(with: .gzip(configuration: .init(compressionLevel: Self.level))),
            compressed.readableBytes < plainBytes
        else {
            plain.moveReaderIndex(to: 0)
            response.body = ResponseBody(byteBuffer: plain)
            return response
        }
        response.headers[.contentEncoding] = "gzip"
        response.body = ResponseBody(byteBuffer: compressed)  // sets Content-Length to the compressed size
        return response
    }

    /// Whether the answer is of a kind that is compressed (see the type's documentation), whoever asks.
    static func isCandidate(_ response: Response) -> Bool {
        guard let length = response.body.contentLength, length >= minimumBytes,
            response.status.code >= 200, response.status != .noContent, response.status != .notModified,
            response.headers[.contentEncoding] == nil, response.headers[.eTag] == nil,
            let type = response.headers[.contentType]
        else { return false }
        return isCompressible(type)
    }

    static func isCompressible(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch mediaType {
        case "text/html", "text/css", "text/javascript", "application/javascript", "application/json", "application/problem+json",
            "image/svg+xml", "text/plain":
            return true
        default:
            return false
        }
    }

    /// Whether `Accept-Encoding` (every field line of it) accepts gzip: `gzip` or `x-gzip` with q > 0, or else `*`
    /// with q > 0. A coding named with `q=0` is refused even where `*` would accept it (RFC 9110 §12.5.3).
    static func acceptsGzip(_ fieldValues: [String]) -> Bool {
        var gzip: Double?
        var any: Double?
        for value in fieldValues {
            for member in value.split(separator: ",") {
                let parts = member.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                guard let coding = parts.first, !coding.isEmpty else { continue }
                var quality = 1.0
                for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                    quality = Double(parameter.dropFirst(2)) ?? 0
                }
                switch coding {
                case "gzip", "x-gzip": gzip = max(gzip ?? 0, quality)
                case "*": any = max(any ?? 0, quality)
                default: break
                }
            }
        }
        if let gzip { return gzip > 0 }
        return (any ?? 0) > 0
    }

    /// The body's bytes, as one buffer (its length is known and bounded: only whole answers get here).
    static func collect(_ body: ResponseBody) async throws -> ByteBuffer {
        let sink = Sink(capacity: body.contentLength ?? 0)
        try await body.write(Collector(sink: sink))
        return sink.buffer
    }

    private final class Sink {
        var buffer: ByteBuffer
        init(capacity: Int) { buffer = ByteBufferAllocator().buffer(capacity: capacity) }
    }

    private struct Collector: ResponseBodyWriter {
        let sink: Sink
        mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            sink.buffer.writeBuffer(&buffer)
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

extension HTTPFields {
    /// Adds `name` to `Vary` unless it is there already (or `Vary: *` says everything varies).
    mutating func appendVary(_ name: String) {
        let present = self[values: .vary].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard !present.contains(name.lowercased()), !present.contains("*") else { return }
        self.append(HTTPField(name: .vary, value: name))
    }
}
