import Domain
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the authenticated caller.
public struct AppRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``AuthMiddleware``; nil on the public routes.
    public var caller: Caller?
    /// Set by ``SessionMiddleware`` on the dashboard's pages: the session's token (its forms' CSRF tokens derive from it).
    var sessionToken: String?
    /// Set by ``SessionMiddleware`` on a dashboard POST: the form, once its CSRF token was checked.
    var form: [String: String] = [:]
    /// The request's connection: a live stream closes it to drop a client that stopped reading.
    public let channel: any Channel
    /// Where a WebSocket route keeps its handler between the upgrade request and the upgrade.
    public let webSocket: WebSocketHandlerReference<AppRequestContext>

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.caller = nil
        self.sessionToken = nil
        self.channel = source.channel
        self.webSocket = .init()
    }

    /// The caller, on a route behind ``AuthMiddleware``.
    func requireCaller() throws -> Caller {
        guard let caller else { throw APIError.unauthorized }
        return caller
    }
}
