import NIOCore

/// Where Redis is and how the client treats it.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// Sent as `CLIENT SETNAME` (the gateway's node id), so `CLIENT LIST` tells nodes apart.
    public var clientName: String?
    /// How long a connection attempt may take.
    public var connectTimeout: TimeAmount = .seconds(2)
    /// How long a sent command may wait for its reply before the connection is taken
    /// for dead and closed (a stopped or unreachable Redis sends no reset).
    public var commandTimeout: TimeAmount = .seconds(5)
    /// Commands sent and not yet answered on one connection; past it, `overloaded`.
    public var maxPendingCommands = 10_000
    /// Reconnect delays: full jitter between zero and a ceiling that doubles from the
    /// first to the last.
    public var reconnectBackoff: (first: TimeAmount, last: TimeAmount) = (.milliseconds(50), .seconds(5))
    public var limits = RESPParser.Limits()

    public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0, clientName: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.clientName = clientName
    }

    /// `redis://[[user]:password@]host[:port][/database]`.
    public init(url: String) throws(RedisError) {
        guard url.hasPrefix("redis://") else {
            throw RedisError(.invalidURL, "'\(url.prefix(64))' is not a redis:// URL (TLS, rediss://, is not supported)")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        // Credentials first (up to the last '@'): a password may hold '/' or ':'.
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let user = credentials.firstIndex(of: ":").map { credentials[..<$0] } ?? ""
            let secret = credentials.firstIndex(of: ":").map { credentials[credentials.index(after: $0)...] } ?? credentials
            guard let decodedUser = String(user).removingPercentEncoding, let decodedSecret = String(secret).removingPercentEncoding else {
                throw RedisError(.invalidURL, "a malformed %-escape in the Redis URL's credentials")
            }
            username = decodedUser.isEmpty ? nil : decodedUser
            password = decodedSecret
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0, number < 1 << 16 else { throw RedisError(.invalidURL, "database '\(path.prefix(16))' is not a number") }
                database = number
            }
        }
        var host = String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw RedisError(.invalidURL, "port '\(rest[rest.index(after: colon)...].prefix(16))' is not a port")
            }
            port = number
            host = String(rest[..<colon])
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw RedisError(.invalidURL, "no host in the Redis URL") }
        self.init(host: host, port: port, username: username, password: password, database: database)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.host == rhs.host && lhs.port == rhs.port && lhs.username == rhs.username && lhs.password == rhs.password && lhs.database == rhs.database
            && lhs.clientName == rhs.clientName && lhs.connectTimeout == rhs.connectTimeout && lhs.commandTimeout == rhs.commandTimeout
            && lhs.maxPendingCommands == rhs.maxPendingCommands && lhs.reconnectBackoff.first == rhs.reconnectBackoff.first
            && lhs.reconnectBackoff.last == rhs.reconnectBackoff.last && lhs.limits == rhs.limits
    }
}

extension String {
    /// `%XX` escapes decoded (a password may hold `@` or `:`); nil when one is malformed.
    fileprivate var removingPercentEncoding: String? {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(), let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
