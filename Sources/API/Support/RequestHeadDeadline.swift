import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The server's child channel: HTTP/1.1 with the WebSocket upgrade, plus a deadline on a connection's first request
/// head.
///
/// hummingbird-websocket's channel adds Hummingbird's idle handling only once it has decided against an upgrade —
/// after a complete request head. A client that sends half a head and then nothing (slowloris) would hold the
/// connection for ever; issue 10 closed that hole for plain HTTP (`http.idle_timeout`). This keeps it closed: a
/// connection whose first head has not ended (`\r\n\r\n`) within the idle timeout is closed; once it has, the handler
/// leaves the pipeline and Hummingbird's own handling takes over.
struct RequestHeadDeadlineChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    let timeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestHeadDeadlineHandler(timeout: timeout), position: .first)
        }.flatMap {
            inner.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// ``RequestHeadDeadlineChannel`` around hummingbird-websocket's HTTP/1.1-with-upgrade channel.
    static func http1WebSocketUpgrade<WSRouter: HTTPResponderBuilder & _HB_SendableMetatype>(
        webSocketRouter: WSRouter, configuration: HTTP1WebSocketUpgradeChannel.Configuration, headDeadline: TimeAmount
    ) -> HTTPServerBuilder where WSRouter.Responder.Context: WebSocketRequestContext {
        let webSocketResponder = webSocketRouter.buildResponder()
        return .init { responder in
            RequestHeadDeadlineChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                timeout: headDeadline)
        }
    }
}

/// Closes the connection unless the first request head has ended within `timeout`; then removes itself.
final class RequestHeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// The last bytes seen, to find `\r\n\r\n` across reads.
    private var tail: [UInt8] = []
    private var done = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !done {
            let buffer = unwrapInboundIn(data)
            tail.append(contentsOf: buffer.readableBytesView)
            if Self.containsEndOfHead(tail) {
                done = true
                timer?.cancel()
                timer = nil
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            // Only the last three bytes can start a `\r\n\r\n` that the next read completes.
            if tail.count > 3 { tail.removeFirst(tail.count - 3) }
        }
        context.fireChannelRead(data)
    }

    static func containsEndOfHead(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return true
        }
        return false
    }
}
