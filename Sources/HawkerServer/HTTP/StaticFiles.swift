import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// The browser files (Web/public), read once at startup and served from memory with
/// their content type, an ETag, caching headers and a Content-Security-Policy.
struct StaticFiles: Sendable {
    struct File: Sendable {
        var body: ByteBuffer
        var contentType: String
        var etag: String
        /// Pages are revalidated on every load; scripts and styles may be cached a while.
        var cacheControl: String
    }

    /// Scripts, styles, images and connections from this origin only; players embedded
    /// from https; no plugins, no framing of our pages, no inline script.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
        + "media-src 'self' https:; frame-src https:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "
        + "form-action 'self'; frame-ancestors 'none'"

    private let files: [String: File]

    init(directory: URL?) {
        var files: [String: File] = [:]
        if let directory, let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                    let data = try? Data(contentsOf: url)
                else { continue }
                let path = String(url.standardizedFileURL.path.dropFirst(directory.standardizedFileURL.path.count + 1))
                let digest = SHA256.hash(data: data).prefix(12).map { String(format: "%02x", $0) }.joined()
                let type = Self.contentType(of: path)
                files[path] = File(
                    body: ByteBuffer(bytes: data), contentType: type, etag: "\"\(digest)\"",
                    cacheControl: type.hasPrefix("text/html") ? "no-cache" : "public, max-age=300"
                )
            }
        }
        self.files = files
    }

    var count: Int { files.count }

    /// The file for a request path: `/sdk/hawker.js`, `/static/<file>`, `/watch/<stream>`,
    /// `/studio/<stream>`, `/ops`, `/earnings`; nil for anything else.
    func file(for segments: [String]) -> File? {
        switch segments.first {
        case "sdk" where segments.count == 2: return files["sdk/" + segments[1]]
        case "static" where segments.count == 2 && !segments[1].hasPrefix("."): return files[segments[1]]
        case "watch" where segments.count == 2: return files["watch.html"]
        case "studio" where segments.count == 2: return files["studio.html"]
        case "ops" where segments.count == 1: return files["ops.html"]
        case "earnings" where segments.count == 1: return files["earnings.html"]
        default: return nil
        }
    }

    static func contentType(of path: String) -> String {
        switch (path as NSString).pathExtension {
        case "html": return "text/html; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        // hawker.d.ts: editors and bundlers fetch it as text.
        case "ts": return "text/plain; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "json": return "application/json"
        default: return "application/octet-stream"
        }
    }
}
