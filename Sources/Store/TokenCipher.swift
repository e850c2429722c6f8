import Crypto
import Foundation

/// Seals repository tokens at rest with AES-256-GCM (swift-crypto).
///
/// A sealed token is `v1:` + base64(nonce ‖ ciphertext ‖ tag). The repository's id is the associated
/// data, so a sealed value copied onto another repository's row does not open. The key comes from
/// `secrets.token_key`, or on the embedded store from `data_dir/token.key`, created with mode 0600
/// on first start. Tokens are never logged: this type has no description that shows a key or a token.
public struct TokenCipher: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// A key given as base64 of 32 bytes.
    public init(base64Key: String) throws {
        guard let data = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw TokenCipherError("the token key must be the base64 of exactly 32 bytes")
        }
        key = SymmetricKey(data: data)
    }

    /// Reads the key file, creating it (32 random bytes, base64, mode 0600) when it does not exist.
    public static func loadOrCreate(keyFile path: String) throws -> TokenCipher {
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
            try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // Created with 0600 from the start, so the key is never readable by others, even briefly.
            guard manager.createFile(atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                throw TokenCipherError("cannot create the token key file \(path)")
            }
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TokenCipherError("cannot read the token key file \(path)")
        }
        return try TokenCipher(base64Key: text)
    }

    /// Seals `token` for the repository `id` (or, with another `purpose`, another kind of row: `repowatch-webhook` for
    /// a webhook's signing secret), so a sealed value opens only on the row, and for the use, it was sealed for.
    public func seal(_ token: String, boundTo id: UUID, purpose: String = "repowatch-token") throws -> String {
        let box = try AES.GCM.seal(Data(token.utf8), using: key, authenticating: Self.associatedData(id, purpose: purpose))
        guard let combined = box.combined else { throw TokenCipherError("AES-GCM produced no combined form") }
        return "v1:" + combined.base64EncodedString()
    }

    /// Opens a value made by ``seal(_:boundTo:)`` for the same repository.
    public func open(_ sealed: String, boundTo id: UUID, purpose: String = "repowatch-token") throws -> String {
        guard sealed.hasPrefix("v1:"), let data = Data(base64Encoded: String(sealed.dropFirst(3))) else {
            throw TokenCipherError("stored token is not in a known format")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plain = try AES.GCM.open(box, using: key, authenticating: Self.associatedData(id, purpose: purpose))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            // Wrong key (secrets.token_key changed) or a value that belongs to another repository.
            throw TokenCipherError("stored token does not open with the configured key")
        }
    }

    private static func associatedData(_ id: UUID, purpose: String) -> Data { Data((purpose + ":" + id.uuidString.lowercased()).utf8) }
}

public struct TokenCipherError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
