/// Finds links in chat text and replaces them with a placeholder.
///
/// A whitespace-separated token is a link when, after peeling off surrounding punctuation such
/// as "(" or ")." , it
/// - contains "://" (any scheme, including obfuscated ones like "hxxp://"),
/// - starts with "www.", or
/// - has a host shaped like a domain: dot-separated labels of letters, digits and inner hyphens,
///   ending in an alphabetic top-level label of 2–24 letters (or "xn--" punycode), optionally
///   followed by a port, path, query or fragment ("shop.example.com/x", "bit.ly/abc"), or an
///   IPv4 address.
///
/// Email addresses count as links: for viewers they are the same off-platform contact and
/// phishing channel. "e.g.", "i.e.", "U.S.", "3.5", "10.5", "ok..." and ellipses are not links
/// because their last label is a single letter, numeric or empty. Known false positives of the
/// domain shape: a missing space after a full stop ("it.Great") and file names ("notes.txt").
enum LinkDetector {
    static let placeholder = "[link removed]"

    struct Result {
        var text: String
        var removed: Int
        /// Whether anything other than links, whitespace and punctuation is left.
        var keptContent: Bool
    }

    static func strip(_ text: String) -> Result {
        // Every link shape needs a '.', ':' or '@': most chat has none and is left as is.
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "@") }) else {
            return Result(text: text, removed: 0, keptContent: true)
        }
        var output = ""
        var removed = 0
        var keptContent = false
        var token = String.UnicodeScalarView()

        func flushToken() {
            guard !token.isEmpty else { return }
            defer { token = String.UnicodeScalarView() }
            let core = coreRange(of: token)
            if !core.isEmpty, isLink(String(token[core])) {
                output.unicodeScalars.append(contentsOf: token[..<core.lowerBound])
                output += placeholder
                output.unicodeScalars.append(contentsOf: token[core.upperBound...])
                removed += 1
            } else {
                output.unicodeScalars.append(contentsOf: token)
                if token.contains(where: { !isPunctuation($0) }) { keptContent = true }
            }
        }

        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                flushToken()
                output.unicodeScalars.append(scalar)
            } else {
                token.append(scalar)
            }
        }
        flushToken()
        return Result(text: output, removed: removed, keptContent: keptContent)
    }

    static func isLink(_ candidate: String) -> Bool {
        if candidate.contains("://") { return true }
        let lowered = candidate.lowercased()
        if lowered.hasPrefix("www."), lowered.count > 4 { return true }

        // Host: before any path, query or fragment; after any "user@"; without a numeric port.
        var host = Substring(lowered)
        if let end = host.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { host = host[..<end] }
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            if !port.isEmpty, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber) { host = host[..<colon] }
        }

        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy(isHostLabel), let last = labels.last else { return false }
        if labels.count == 4, labels.allSatisfy(isIPv4Octet) { return true }
        let isAlphabeticTopLevel = (2...24).contains(last.count) && last.allSatisfy(\.isLetter)
        return isAlphabeticTopLevel || last.hasPrefix("xn--")
    }

    /// Range of `token` without leading non-alphanumerics and trailing sentence punctuation.
    /// Trailing "/" or "=" stay, since they can be part of a URL.
    private static func coreRange(of token: String.UnicodeScalarView) -> Range<String.UnicodeScalarView.Index> {
        let trailing: Set<Unicode.Scalar> = [
            ".", ",", ";", ":", "!", "?", ")", "]", "}", ">",
            "\"", "'", "\u{2026}", "\u{00BB}", "\u{201D}", "\u{2019}",
        ]
        guard let start = token.firstIndex(where: { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        else { return token.endIndex..<token.endIndex }
        var end = token.endIndex
        while end > start, trailing.contains(token[token.index(before: end)]) {
            end = token.index(before: end)
        }
        return start..<end
    }

    private static func isHostLabel(_ label: Substring) -> Bool {
        !label.isEmpty && label.first != "-" && label.last != "-"
            && label.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
    }

    private static func isIPv4Octet(_ label: Substring) -> Bool {
        label.count <= 3 && label.allSatisfy { $0.isASCII && $0.isNumber } && (Int(label) ?? 256) <= 255
    }

    private static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            true
        default:
            false
        }
    }
}
