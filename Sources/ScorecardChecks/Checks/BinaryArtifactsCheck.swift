import Foundation
import Scorecard

/// Binary-Artifacts: 10 minus one point per binary file in the clone (minimum 0). A file is binary when its first
/// bytes are the magic number of an executable or archive type of the official list (ELF, PE `.exe`/`.dll`,
/// Mach-O, Java class, DEX, WebAssembly, deb, rpm, crx…), or when its extension is on that list (`.jar`, `.so`,
/// `.pyc`, `.whl`…) and its content is not text.
public struct BinaryArtifactsCheck: Check {
    public let name = "Binary-Artifacts"
    public let shortDescription =
        "Determines if the project has generated executable (binary) artifacts in the source repository."

    /// The official list of binary extensions.
    static let binaryExtensions: Set<String> = [
        "crx", "deb", "dex", "dey", "elf", "o", "a", "so", "macho", "iso", "class", "jar", "bundle", "dylib",
        "lib", "msi", "dll", "drv", "efi", "exe", "ocx", "pyc", "pyo", "par", "rpm", "wasm", "whl",
    ]

    /// A check with the official rules.
    public init() {}

    /// The binary type named by `bytes`' magic number, if it is one the official list counts.
    static func magicType(_ bytes: [UInt8]) -> String? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + magic.count && Array(bytes[offset..<offset + magic.count]) == magic
        }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return "elf" }
        if starts([0x4D, 0x5A]) { return "exe" }
        if starts([0xCA, 0xFE, 0xBA, 0xBE]) { return "class" }  // also fat Mach-O
        if starts([0xFE, 0xED, 0xFA, 0xCE]) || starts([0xFE, 0xED, 0xFA, 0xCF])
            || starts([0xCE, 0xFA, 0xED, 0xFE]) || starts([0xCF, 0xFA, 0xED, 0xFE]) { return "macho" }
        if starts([0x64, 0x65, 0x78, 0x0A]) { return "dex" }
        if starts([0x64, 0x65, 0x79, 0x0A]) { return "dey" }
        if starts([0x00, 0x61, 0x73, 0x6D]) { return "wasm" }
        if starts([0x43, 0x72, 0x32, 0x34]) { return "crx" }
        if starts([0xED, 0xAB, 0xEE, 0xDB]) { return "rpm" }
        if starts(Array("!<arch>\ndebian".utf8)) { return "deb" }
        if starts(Array("!<arch>\n".utf8)) { return "a" }
        if starts([0x43, 0x44, 0x30, 0x30, 0x31], at: 0x8001) { return "iso" }
        return nil
    }

    /// Text as the official `isText`: valid UTF-8 with no control bytes besides tab, newline, carriage return,
    /// form feed and escape.
    static func isText(_ bytes: [UInt8]) -> Bool {
        guard String(validating: bytes, as: UTF8.self) != nil || bytes.count >= 1020 else { return false }
        // A cut at the 1 KiB boundary may split a character: check the prefix that decodes.
        for byte in bytes where byte < 0x20 && ![0x09, 0x0A, 0x0D, 0x0C, 0x1B].contains(byte) {
            return false
        }
        if String(validating: bytes, as: UTF8.self) == nil {
            return String(validating: bytes.dropLast(3), as: UTF8.self) != nil
        }
        return true
    }

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        var found: [RepoFile] = []
        for file in context.files where file.size > 0 && !file.isTestData {
            // The magic of an ISO image sits at 32 KiB; others in the first bytes (the official reads 1 KiB).
            let limit = file.fileExtension == "iso" ? 0x8006 : 1024
            guard let data = context.read(file.path, limit: limit) else { continue }
            let bytes = [UInt8](data)
            if Self.magicType(bytes) != nil
                || (Self.binaryExtensions.contains(file.fileExtension) && !Self.isText(Array(bytes.prefix(1024)))) {
                found.append(file)
            }
        }
        if found.isEmpty {
            return result(10, "no binaries found in the repo", details)
        }
        for file in found { details.warn("binary detected", at: Location(file.path)) }
        return result(max(0, 10 - found.count), "binaries present in source code", details)
    }
}
