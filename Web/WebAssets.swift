import Foundation

/// The browser side the gateway serves: the JavaScript SDK and the pages (Web/public).
public enum WebAssets {
    /// The folder of files to serve, as SwiftPM installs it beside the binary.
    public static var directory: URL? {
        Bundle.module.resourceURL?.appendingPathComponent("public")
    }
}
