import CompressNIO
import Domain
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// gzip over real HTTP, on both engines: the dashboard's pages and the API's lists are compressed for a client that
/// accepts gzip and only for it, decompress to the very bytes an identity answer carries, and say `Vary:
/// Accept-Encoding`; answers with a validator and streams are never compressed.
@Suite("Compression")
struct CompressionTests {
    static let browserEncodings: HTTPFields = [.acceptEncoding: "gzip, deflate, br"]

    /// The body of a gzip answer, decompressed; fails unless it is one gzip member whose length the headers told.
    static func gunzip(_ reply: APIHarness.Reply) throws -> String {
        #expect(reply.headers[.contentEncoding] == "gzip")
        #expect(reply.headers[.contentLength] == String(reply.body.readableBytes), "Content-Length is the compressed size")
        #expect(Array(reply.body.readableBytesView.prefix(2)) == [0x1f, 0x8b], "a gzip member starts with its magic bytes")
        var compressed = reply.body
        let plain = try compressed.decompress(with: .gzip())
        return String(buffer: plain)
    }

    static func varies(_ reply: APIHarness.Reply) -> Bool {
        reply.headers[values: .vary].flatMap { $0.split(separator: ",") }.contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "accept-encoding" }
    }

    @Test(arguments: Engine.allCases)
    func pagesAndListsAreGzippedForClientsThatAcceptIt(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let key = try await api.key(for: "alice")
            for index in 0..<40 {
                let added = try await api.request(.post, "/v1/watchlist", key: key, json: #"{"repo_url": "https://github.com/example/project-\#(index)"}"#)
                #expect(added.status == .accepted)
            }
            let browser = DashboardAPITests.Browser(api)
            try await browser.signIn(key)

            // The watchlist page: the same bytes, about a tenth of them on the wire.
            let plain = try await browser.send(.get, "/watchlist")
            #expect(plain.status == .ok && plain.headers[.contentEncoding] == nil, "no Accept-Encoding: identity")
            #expect(Self.varies(plain), "an answer that could have been compressed says Vary: Accept-Encoding: \(plain.headers)")
            let gzipped = try await browser.send(.get, "/watchlist", headers: Self.browserEncodings)
            #expect(gzipped.status == .ok && gzipped.headers[.contentType] == "text/html; charset=utf-8")
            #expect(Self.varies(gzipped))
            #expect(try Self.gunzip(gzipped) == String(buffer: plain.body), "decompressed, the page is byte for byte the identity answer")
            #expect(gzipped.body.readableBytes * 4 < plain.body.readableBytes,
                    "40 rows of HTML compress well: \(gzipped.body.readableBytes) of \(plain.body.readableBytes) bytes")
            #expect(gzipped.headers[.contentSecurityPolicy] == plain.headers[.contentSecurityPolicy], "the page's own headers are kept")

            // How Accept-Encoding is read (RFC 9110 §12.5.3): q-values, the wildcard, a coding refused by name, case.
            let cases: [(String, Bool)] = [
                ("gzip", true), ("GZIP;Q=0.8", true), ("x-gzip", true), ("*", true), ("br, *;q=0.1", true),
                ("identity", false), ("br, deflate", false), ("gzip;q=0", false), ("gzip;q=0, *", false), ("*;q=0", false), ("", false),
            ]
            for (header, compressed) in cases {
                let reply = try await browser.send(.get, "/watchlist", headers: [.acceptEncoding: header])
                #expect(reply.status == .ok)
                #expect((reply.headers[.contentEncoding] == "gzip") == compressed, "Accept-Encoding: \(header) → \(reply.headers[.contentEncoding] ?? "identity")")
                let text = compressed ? try Self.gunzip(reply) : String(buffer: reply.body)
                #expect(text == String(buffer: plain.body), "Accept-Encoding: \(header): the same page")
            }

            // The JSON API's lists too: the same document.
            let list = try await api.request(.get, "/v1/watchlist?limit=40", key: key)
            let listGzipped = try await api.request(.get, "/v1/watchlist?limit=40", key: key, headers: Self.browserEncodings)
            #expect(list.headers[.contentEncoding] == nil && Self.varies(list))
            let decoded = try Self.gunzip(listGzipped)
            #expect(JSONValue.parse(Data(decoded.utf8)) == list.json && list.array("items")?.count == 40)

            // A small answer goes as it is (gzip's framing would cost more than it saves), and says nothing of encodings.
            let small = try await api.request(.get, "/health/live", headers: Self.browserEncodings)
            #expect(small.status == .ok && small.headers[.contentEncoding] == nil && !Self.varies(small), "\(small.headers)")

            // An answer with a validator names one representation: the status route's strong ETag, the stylesheet's.
            let id = try #require(list.array("items")?.first.flatMap { item -> String? in
                guard case .object(let o) = item, case .string(let id)? = o["id"] else { return nil }
                return id
            })
            let status = try await api.request(.get, "/v1/watchlist/\(id)/status", key: key, headers: Self.browserEncodings)
            #expect(status.status == .ok && status.headers[.eTag] != nil && status.headers[.contentEncoding] == nil)
            let css = try await browser.send(.get, "/assets/dashboard.css", headers: Self.browserEncodings)
            #expect(css.status == .ok && css.headers[.eTag] != nil && css.headers[.contentEncoding] == nil)
            #expect(css.body.readableBytes > 1024, "the stylesheet is large enough to be compressed but for its ETag")

            // A stream is never held back to be compressed: its head arrives at once, as text/event-stream, identity.
            let port = try #require(api.client.port)
            let head = try Self.responseHead(
                port: port,
                request: "GET /v1/watchlist/\(id)/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nAccept: text/event-stream\r\nAccept-Encoding: gzip\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
            #expect(head.lowercased().contains("content-type: text/event-stream"), "\(head)")
            #expect(!head.lowercased().contains("content-encoding"), "\(head)")
        }
    }

    /// Sends `request` on a new connection and returns the answer's head (up to the blank line); waits at most 20 s.
    static func responseHead(port: Int, request: String) throws -> String {
        let fd = try #require(LoopbackSocket.connect(port: port))
        defer { close(fd) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer[0..<count]
            if let text = String(bytes: received, encoding: .utf8), let end = text.range(of: "\r\n\r\n") {
                return String(text[..<end.lowerBound])
            }
        }
        Issue.record("no complete answer head within 20 s: \(String(decoding: received, as: UTF8.self))")
        return ""
    }
}
