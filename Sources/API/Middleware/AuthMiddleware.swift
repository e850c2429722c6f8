import Domain
import Foundation
import Hummingbird
import Logging
import Store

/// Resolves `Authorization: Bearer <key>` to a ``Caller``; 401 without a valid, unrevoked key.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: any Store
    let cache: CallerCache

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { throw APIError.unauthorized }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthorized }
        let key = String(parts[1]).trimmingCharacters(in: .whitespaces)
        let caller: Caller
        if let cached = cache.caller(for: key) {
            caller = cached
        } else {
            guard let found = try await store.read({ try await $0.caller(presenting: key) }) else { throw APIError.unauthorized }
            cache.remember(found, for: key)
            caller = found
        }
        var context = context
        context.caller = caller
        context.logger[metadataKey: "user"] = "\(caller.userName)"
        return try await next(request, context)
    }
}
