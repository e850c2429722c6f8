import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Resolves a host name to its addresses with the system resolver (`getaddrinfo`, so `/etc/hosts` and the
/// configured DNS answer as they would for git), off Swift's cooperative threads: a slow resolver blocks a
/// dispatch worker, never the pool the server's tasks run on.
public enum AddressResolver {
    /// The distinct addresses of `host` as text (`93.184.216.34`, `2606:2800:220:1::248`), in the resolver's
    /// order; empty when the name does not resolve.
    public static func addresses(of host: String) async -> [String] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(returning: lookUp(host))
            }
        }
    }

    /// The text of a NUL-terminated C buffer.
    private static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func lookUp(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var result: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let entry = node {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if let address = entry.pointee.ai_addr {
                var text: String?
                switch entry.pointee.ai_family {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                        var raw = v4.pointee.sin_addr
                        if inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count)) != nil { text = Self.string(buffer) }
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                        var raw = v6.pointee.sin6_addr
                        if inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil { text = Self.string(buffer) }
                    }
                default:
                    break
                }
                if let text, !result.contains(text) { result.append(text) }
            }
            node = entry.pointee.ai_next
        }
        return result
    }
}
