import Crypto
import Foundation

/// Standard Webhooks 1.0 signatures (https://www.standardwebhooks.com): a message is signed as
/// `HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")`, sent as `webhook-signature: v1,<base64>`; several
/// signatures (a rotated secret's overlap) are separated by spaces. The secret is `whsec_` + base64 of the key.
public enum WebhookSignature {
    /// A new signing secret: `whsec_` + base64 of 32 random bytes.
    public static func newSecret() -> String {
        "whsec_" + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// The key of a `whsec_…` secret.
    static func key(of secret: String) throws -> SymmetricKey {
        let text = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let data = Data(base64Encoded: text), !data.isEmpty else { throw WebhookSignatureError() }
        return SymmetricKey(data: data)
    }

    /// `v1,<base64 signature>` of one message with one secret.
    public static func sign(messageID: String, timestamp: Int64, body: some DataProtocol, secret: String) throws -> String {
        var message = Data("\(messageID).\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: try key(of: secret))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The `webhook-signature` header: one signature per secret, space-separated (the current secret first).
    public static func header(messageID: String, timestamp: Int64, body: some DataProtocol, secrets: [String]) throws -> String {
        try secrets.map { try sign(messageID: messageID, timestamp: timestamp, body: body, secret: $0) }.joined(separator: " ")
    }
}

/// A stored secret that is not `whsec_` + base64.
public struct WebhookSignatureError: Error, CustomStringConvertible {
    public var description: String { "the webhook's signing secret is not whsec_ followed by base64" }
}
