import Crypto
import Dashboard
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Settings
import Store

/// `GET /badge/{host}/{owner}/{name}.svg`: the health badge of a watched repository that is read without a token.
///
/// Public by design (a README embeds it), so it says nothing about anything else: a private repository (watched with a
/// token), one nobody watches, and one that does not exist are the same 404. Cacheable: a strong ETag over the SVG and
/// `Cache-Control: public, max-age=300` (a badge may be five minutes behind a report).
struct BadgeController {
    let store: any Store
    let settings: Settings
    let pages: DashboardPages

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("badge/{host}/{owner}/{file}", use: badge)
    }

    @Sendable func badge(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let hostText = context.parameters.get("host"), let owner = context.parameters.get("owner"),
            let file = context.parameters.get("file"), file.hasSuffix(".svg"), file.count > 4,
            let (host, port) = Self.split(hostText)
        else { return Self.notFound }
        var name = String(file.dropLast(4))
        var ownerName = owner
        // The same path folding as when the repository was added (GitHub's paths ignore case: stored lower-cased).
        if settings.caseInsensitiveHosts.contains(host) {
            name = name.lowercased()
            ownerName = ownerName.lowercased()
        }
        let (o, n) = (ownerName, name)
        guard let repository = try await store.read({ try await $0.publicWatchedRepository(host: host, port: port, owner: o, name: n) }) else {
            return Self.notFound
        }
        let svg = pages.pages.render(Badge(score: repository.healthScore, status: repository.state.status.rawValue))
        let etag = "\"" + WatchlistController.hex(SHA256.hash(data: Data(svg.utf8)).prefix(12)) + "\""
        let headers: HTTPFields = [.eTag: etag, .cacheControl: "public, max-age=300", .xContentTypeOptions: "nosniff"]
        if let ifNoneMatch = request.headers[.ifNoneMatch], WatchlistController.matches(ifNoneMatch, etag: etag) {
            return Response(status: .notModified, headers: headers)
        }
        var all = headers
        all[.contentType] = "image/svg+xml; charset=utf-8"
        // An SVG opened on its own is a document: no script may run in it.
        all[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'"
        return Response(status: .ok, headers: all, body: .init(byteBuffer: ByteBuffer(string: svg)))
    }

    /// `host` or `host:port` (a port of 1–65535).
    static func split(_ text: String) -> (host: String, port: Int?)? {
        let lowered = text.lowercased()
        guard let colon = lowered.lastIndex(of: ":") else { return lowered.isEmpty ? nil : (lowered, nil) }
        guard let port = Int(lowered[lowered.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        let host = String(lowered[..<colon])
        return host.isEmpty ? nil : (host, port)
    }

    static var notFound: Response {
        Response(
            status: .notFound, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "public, max-age=60"],
            body: .init(byteBuffer: ByteBuffer(string: "no badge: the repository is not watched, or not public\n")))
    }
}
