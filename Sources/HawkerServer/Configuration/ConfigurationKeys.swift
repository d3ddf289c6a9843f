import Foundation
import HawkerCommerce
import HawkerHub
import HawkerOrders
import HawkerWebSocket
import NIOCore

/// The one table of configuration keys: each has a name (config file and `--set`), an
/// environment variable (`HAWKER_` + upper-cased name, dots as underscores), a default
/// and a description. The README's configuration table is generated from it
/// (`hawker config`).
public struct ConfigurationKey: Sendable {
    public let name: String
    public let summary: String
    let defaultValue: @Sendable (GatewayConfiguration) -> String
    let apply: @Sendable (inout GatewayConfiguration, String) throws(ConfigurationError) -> Void

    public var environmentVariable: String {
        "HAWKER_" + name.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    public func defaultDescription(_ configuration: GatewayConfiguration = GatewayConfiguration()) -> String {
        defaultValue(configuration)
    }
}

public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

extension ConfigurationKey {
    static func string(_ name: String, _ summary: String, _ path: any WritableKeyPath<GatewayConfiguration, String> & Sendable) -> ConfigurationKey {
        ConfigurationKey(name: name, summary: summary, defaultValue: { $0[keyPath: path] }, apply: { $0[keyPath: path] = $1 })
    }

    static func optionalString(_ name: String, _ summary: String, _ path: any WritableKeyPath<GatewayConfiguration, String?> & Sendable) -> ConfigurationKey {
        ConfigurationKey(name: name, summary: summary, defaultValue: { $0[keyPath: path] ?? "(unset)" }, apply: { $0[keyPath: path] = $1.isEmpty ? nil : $1 })
    }

    static func int(_ name: String, _ summary: String, _ path: any WritableKeyPath<GatewayConfiguration, Int> & Sendable, range: ClosedRange<Int>) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            summary: summary,
            defaultValue: { "\($0[keyPath: path])" },
            apply: { configuration, text throws(ConfigurationError) in
                guard let value = Int(text), range.contains(value) else {
                    throw ConfigurationError(description: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
                }
                configuration[keyPath: path] = value
            }
        )
    }

    static func int64(_ name: String, _ summary: String, _ path: any WritableKeyPath<GatewayConfiguration, Int64> & Sendable, range: ClosedRange<Int64>) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            summary: summary,
            defaultValue: { "\($0[keyPath: path])" },
            apply: { configuration, text throws(ConfigurationError) in
                guard let value = Int64(text), range.contains(value) else {
                    throw ConfigurationError(description: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
                }
                configuration[keyPath: path] = value
            }
        )
    }

    static func bool(_ name: String, _ summary: String, _ path: any WritableKeyPath<GatewayConfiguration, Bool> & Sendable) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            summary: summary,
            defaultValue: { "\($0[keyPath: path])" },
            apply: { configuration, text throws(ConfigurationError) in
                switch text.lowercased() {
                case "true", "1", "yes", "on": configuration[keyPath: path] = true
                case "false", "0", "no", "off": configuration[keyPath: path] = false
                default: throw ConfigurationError(description: "\(name) must be true or false, got '\(text)'")
                }
            }
        )
    }

    /// A duration in milliseconds.
    static func milliseconds(_ name: String, _ summary: String, _ path: any WritableKeyPath<GatewayConfiguration, TimeAmount> & Sendable) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            summary: summary,
            defaultValue: { "\($0[keyPath: path].nanoseconds / 1_000_000)" },
            apply: { configuration, text throws(ConfigurationError) in
                guard let value = Int64(text), (1...86_400_000).contains(value) else {
                    throw ConfigurationError(description: "\(name) must be milliseconds in 1...86400000, got '\(text)'")
                }
                configuration[keyPath: path] = .milliseconds(value)
            }
        )
    }

    static func list(_ name: String, _ summary: String, _ path: any WritableKeyPath<GatewayConfiguration, [String]> & Sendable) -> ConfigurationKey {
        ConfigurationKey(
            name: name,
            summary: summary,
            defaultValue: { $0[keyPath: path].isEmpty ? "(empty)" : $0[keyPath: path].joined(separator: ",") },
            apply: { configuration, text in
                configuration[keyPath: path] = text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
        )
    }
}

extension GatewayConfiguration {
    /// Every configuration key, in the order the README lists them.
    public static let keys: [ConfigurationKey] = [
        .string("host", "address to listen on", \.host),
        .int("port", "TCP port (0 picks a free one)", \.port, range: 0...65_535),
        .int("event_loops", "event-loop threads; 0 = one per core", \.eventLoops, range: 0...256),
        .string("data_dir", "directory for the gateway's files (development secret, the state store, the order outbox)", \.dataDirectory),
        .optionalString("tls.certificate", "PEM certificate chain; with tls.private_key turns on wss/https", \.tlsCertificatePath),
        .optionalString("tls.private_key", "PEM private key", \.tlsPrivateKeyPath),
        ConfigurationKey(
            name: "tls.min_version",
            summary: "oldest TLS version accepted: 1.2 or 1.3",
            defaultValue: { $0.tlsMinimumVersion.rawValue },
            apply: { configuration, text throws(ConfigurationError) in
                guard let version = TLSMinimumVersion(rawValue: text) else {
                    throw ConfigurationError(description: "tls.min_version must be 1.2 or 1.3, got '\(text)'")
                }
                configuration.tlsMinimumVersion = version
            }
        ),
        .string("tls.ciphers", "TLS 1.2 cipher suites, OpenSSL names separated by ':' (TLS 1.3 suites are fixed)", \.tlsCipherSuites),
        .milliseconds("tls.handshake_timeout_ms", "a TLS handshake not done after this long is dropped", \.tlsHandshakeTimeout),
        .optionalString("jwt.secret", "HS256 secret for tokens, at least 32 bytes; a development one is generated when neither this nor jwt.jwks is set", \.jwtSecret),
        .optionalString("jwt.jwks", "path of a JWKS file with RS256/ES256 public keys", \.jwksPath),
        .optionalString("jwt.issuer", "required `iss` claim, when set", \.jwtIssuer),
        .int("jwt.leeway_seconds", "allowed clock skew for exp/nbf", \.jwtLeewaySeconds, range: 0...300),
        .bool("anonymous_viewers", "let clients connect without a token as read-only viewers", \.anonymousViewers),
        .list("allowed_origins", "comma-separated Origin allow-list for browser upgrades; empty allows any", \.allowedOrigins),
        .int("ws.max_message_bytes", "largest inbound message (after inflation); close 1009 beyond", \.webSocket.maxMessageBytes, range: 125...(64 << 20)),
        .milliseconds("ws.ping_interval_ms", "ping a connection silent for this long", \.webSocket.pingInterval),
        .milliseconds("ws.idle_timeout_ms", "close (4003) a connection silent for this long", \.webSocket.idleTimeout),
        .milliseconds("ws.close_timeout_ms", "wait this long for the peer's close frame", \.webSocket.closeTimeout),
        .int("ws.control_frames_per_second", "pings and pongs a client may send per second (sustained) before close 4002", \.webSocket.controlFramesPerSecond, range: 1...10_000),
        .int("ws.control_frame_burst", "pings and pongs a client may send at once", \.webSocket.controlFrameBurst, range: 1...100_000),
        .bool("compression.enabled", "negotiate permessage-deflate", \.compressionEnabled),
        .int("compression.min_bytes", "send messages smaller than this uncompressed", \.compressionMinBytes, range: 0...(1 << 30)),
        .int("compression.level", "zlib level, 1 (fast) ... 9 (small)", \.compressionLevel, range: 1...9),
        .milliseconds("session.connect_timeout_ms", "close (4000) a connection that sends no connect in time", \.connectTimeout),
        .int("session.max_subscriptions", "streams one connection may subscribe to", \.maxSubscriptions, range: 1...10_000),
        .int("session.commands_per_second", "sustained command rate per connection", \.commandsPerSecond, range: 1...100_000),
        .int("session.command_burst", "command burst per connection", \.commandBurst, range: 1...100_000),
        .int("session.publisher_commands_per_second", "sustained command rate for host and admin connections", \.publisherCommandsPerSecond, range: 1...1_000_000),
        .int("session.publisher_command_burst", "command burst for host and admin connections", \.publisherCommandBurst, range: 1...1_000_000),
        .int("session.error_budget", "invalid commands allowed (refilled 1/s) before close 4502", \.errorBudget, range: 1...10_000),
        .int("session.outbound_high_water_bytes", "queued bytes at which a connection counts as slow", \.outboundHighWaterBytes, range: 1_024...(1 << 30)),
        .int("session.socket_send_buffer_bytes", "SO_SNDBUF per connection (kernel memory a slow reader can hold); 0: kernel autotuning", \.socketSendBufferBytes, range: 0...(64 << 20)),
        .int("session.read_buffer_bytes", "first read buffer per connection (kept per connection; grows to 64 KiB for busy ones)", \.readBufferBytes, range: 64...65_536),
        .int(
            "session.outbound_budget_bytes",
            "bytes a connection may be owed (queued replies, pongs, HTTP responses and broadcasts, plus a backed-up viewer's coalesced state) before close 4001 (HTTP: dropped)", \.outboundBudgetBytes,
            range: 16_384...(1 << 30)),
        .milliseconds("session.slow_consumer_timeout_ms", "a viewer backed up for this long is closed with 4001", \.slowConsumerTimeout),
        .int("max_connections", "open connections per gateway", \.maxConnections, range: 1...10_000_000),
        .int("quota.connections_per_user", "WebSocket connections one user (token sub) may hold at once; more: quota_exceeded, close 4503", \.quotas.connections, range: 1...1_000_000),
        .int("quota.subscriptions_per_user", "subscriptions one user may hold over all its connections", \.quotas.subscriptions, range: 1...10_000_000),
        .int("quota.streams_per_user", "streams a user (not an admin) may have created that still exist", \.quotas.streams, range: 1...10_000_000),
        .int("quota.chat_per_minute", "chat messages and questions per user over all streams (sustained)", \.quotas.chatPerMinute, range: 1...600_000),
        .int("quota.chat_burst", "chat messages and questions per user over all streams (at once)", \.quotas.chatBurst, range: 1...100_000),
        .int("quota.checkouts_per_minute", "checkouts per buyer over all streams (sustained)", \.quotas.checkoutsPerMinute, range: 1...600_000),
        .int("quota.checkout_burst", "checkouts per buyer over all streams (at once)", \.quotas.checkoutBurst, range: 1...100_000),
        .int("quota.http_requests_per_second", "HTTP API requests per user (sustained); past it 429", \.quotaHTTPRequestsPerSecond, range: 1...1_000_000),
        .int("quota.http_request_burst", "HTTP API requests per user (at once)", \.quotas.httpRequestBurst, range: 1...1_000_000),
        .int("http.max_body_bytes", "largest HTTP request body", \.maxHTTPBodyBytes, range: 1_024...(64 << 20)),
        .int("http.requests_per_second", "requests one HTTP connection may send per second (sustained); past it 429 and close", \.httpRequestsPerSecond, range: 1...100_000),
        .int("http.request_burst", "requests one HTTP connection may send at once (pipelined)", \.httpRequestBurst, range: 1...100_000),
        .milliseconds(
            "http.request_timeout_ms", "time a connection has to send a complete request or upgrade, from its opening or previous response (idle keep-alives close after it)", \.httpRequestTimeout),
        .bool(
            "http.fast_upgrade", "answer plain WebSocket upgrade requests without the HTTP pipeline (cheaper handshakes); other requests are unaffected",
            \.fastUpgrade),
        .int(
            "http.max_pending_per_address", "connections from one address not yet through their first request or upgrade; more are refused at accept (0: no bound, e.g. behind a proxy)",
            \.maxPendingPerAddress, range: 0...1_000_000),
        .int("hub.history_size", "events kept per stream for resume", \.hub.historyCapacity, range: 1...1_000_000),
        .int("hub.history_max_bytes", "bytes of framed events kept per stream for resume", \.hub.historyMaxBytes, range: 1_024...(1 << 30)),
        .int("hub.history_max_age_ms", "how long events are kept for resume", \.historyMaxAgeMillisecondsInt, range: 1_000...86_400_000),
        .int("hub.max_streams", "streams one gateway holds", \.hub.maxStreams, range: 1...10_000_000),
        .int(
            "hub.max_skus_per_merchant", "products and variants one merchant may have stock tracked for (of 1,000,000 per gateway)", \.hub.maxSKUsPerMerchant,
            range: 1...1_000_000),
        .int("hub.idle_stream_ms", "at max_streams, a stream idle this long with no subscribers makes room", \.idleStreamMillisecondsInt, range: 1_000...604_800_000),
        .int(
            "hub.stream_retention_ms",
            "a stream this long without subscribers, events, commands or a scheduled sale leaves memory, archived in the state store (0: kept until max_streams needs room)",
            \.streamRetentionMillisecondsInt, range: 0...31_536_000_000),
        ConfigurationKey(
            name: "state.store",
            summary: "sqlite (streams survive a restart, in state.path) or memory (a restart loses them)",
            defaultValue: { $0.stateStore.rawValue },
            apply: { configuration, text throws(ConfigurationError) in
                guard let kind = GatewayConfiguration.StateStoreKind(rawValue: text) else {
                    throw ConfigurationError(description: "state.store must be sqlite or memory, got '\(text)'")
                }
                configuration.stateStore = kind
            }
        ),
        .optionalString("state.path", "the state SQLite file; default <data_dir>/state.sqlite", \.statePath),
        .optionalString(
            "cluster.redis_url", "cluster mode: redis://[user:password@]host:port[/db] of the Redis that the nodes share (state, leases, fan-out); unset: one process",
            \.clusterRedisURL),
        .optionalString("cluster.node_id", "this node's id in the cluster, unique per running process; unset: a random one per start", \.clusterNodeID),
        .int64(
            "cluster.lease_ms", "a stream's lease on the node that runs it, renewed every third of it: a dead node's streams move within about this long",
            \.clusterLeaseMilliseconds, range: 500...120_000),
        .string("cluster.key_prefix", "prefix of the cluster's Redis keys and channels (several clusters can share one Redis)", \.clusterKeyPrefix),
        .int(
            "state.archive_retention_ms", "archived streams (ended or retired, their last state and insights) are deleted this long after (0: kept)",
            \.archiveRetentionMillisecondsInt, range: 0...31_536_000_000),
        .milliseconds("state.retention_sweep_ms", "how often archived streams and settled orders past their retention are deleted", \.retentionSweepInterval),
        .int64(
            "state.save_interval_ms",
            "how often a changed room (catalog, sales, questions, moderation, insights) is saved; events are kept as they are published, and a room changed only by its host's events is saved once its history lets go of events the save lacks, or after 60 intervals (a restart replays them)",
            \.hub.stateSaveIntervalMilliseconds, range: 100...600_000),
        .int64("room.tick_ms", "chat batches, question, intent and presence pushes leave at most once per tick", \.hub.room.tickMilliseconds, range: 10...5_000),
        .int("catalog.max_products", "products in one stream's catalog", \.hub.room.commerce.maxProducts, range: 1...1_000),
        .int("catalog.max_pinned", "products pinned at once", \.hub.room.commerce.maxPinned, range: 1...20),
        .int("sales.max_per_stream", "flash sales scheduled or running at once per stream", \.hub.room.commerce.maxSales, range: 1...100),
        .int64("sales.max_duration_ms", "longest flash sale", \.hub.room.commerce.maxSaleDurationMilliseconds, range: 1_000...604_800_000),
        .int("chat.max_length", "characters in one chat message or question", \.hub.room.chat.maxLength, range: 1...2_000),
        .int("chat.user_messages_per_minute", "sustained chat rate per user and stream", \.chatMessagesPerMinute, range: 1...6_000),
        .int("chat.user_burst", "chat burst per user and stream", \.hub.room.chat.burst, range: 1...100),
        .int("chat.visible_per_second", "ordinary messages shown per stream per second; above it they are sampled", \.hub.room.visibleChatPerSecond, range: 1...100_000),
        .int("chat.max_protected_per_tick", "host, moderator, question and purchase messages per batch (bound, not a sample)", \.hub.room.chat.maxProtectedPerBatch, range: 1...100_000),
        .list("chat.banned_words", "comma-separated words and phrases refused in chat (case- and accent-insensitive); hosts add per-stream ones", \.hub.room.chat.bannedWords),
        .int("chat.recent_messages", "recent messages per stream that moderators can delete", \.hub.room.chat.recentMessages, range: 1...100_000),
        .int("chat.max_tracked_users", "chatters, bans and timeouts remembered per stream", \.hub.room.chat.maxTrackedUsers, range: 100...10_000_000),
        .bool("questions.from_chat", "chat messages that look like questions also enter the question list", \.hub.room.questionsFromChat),
        .bool("questions.to_viewers", "send questions.top to viewers too, not only to hosts and moderators", \.hub.room.questionsToViewers),
        .int("questions.similarity_percent", "token-set similarity at which two questions merge", \.questionSimilarityPercent, range: 1...100),
        .int64("questions.half_life_ms", "question score half-life", \.hub.room.questions.halfLifeMilliseconds, range: 1_000...86_400_000),
        .int("questions.max_per_stream", "questions kept per stream (the lowest-scored make room)", \.hub.room.questions.maxQuestions, range: 1...10_000),
        .int("questions.max_voters", "distinct askers and upvoters counted per question", \.hub.room.questions.maxVotersPerQuestion, range: 1...1_000_000),
        .int("questions.top_count", "questions in questions.top", \.hub.room.questions.topCount, range: 1...100),
        .int("intents.max_products", "products with intent counters per stream", \.hub.room.intents.maxProducts, range: 1...10_000),
        .int("intents.max_users_per_product", "distinct users counted per product and window (beyond: lower bounds)", \.hub.room.intents.maxTrackedUsersPerProduct, range: 1...10_000_000),
        .bool("intents.social_proof", "send viewers social_proof counters", \.hub.room.socialProof),
        .int64("intents.social_proof_interval_ms", "social_proof leaves at most this often", \.hub.room.socialProofIntervalMilliseconds, range: 100...600_000),
        ConfigurationKey(
            name: "checkout.buyable",
            summary: "what a checkout may buy: pinned_or_on_sale (what the host shows now) or any (the whole catalog)",
            defaultValue: { $0.hub.room.checkoutPolicy.rawValue },
            apply: { configuration, text throws(ConfigurationError) in
                guard let policy = CommerceState.BuyablePolicy(rawValue: text) else {
                    throw ConfigurationError(description: "checkout.buyable must be pinned_or_on_sale or any, got '\(text)'")
                }
                configuration.hub.room.checkoutPolicy = policy
            }
        ),
        .int("checkout.idempotency_keys", "checkout answers remembered per stream for retries (accepted ones are also kept in the outbox)", \.hub.room.idempotencyKeys, range: 1...10_000_000),
        ConfigurationKey(
            name: "orders.default_backend",
            summary: "demo (confirm after orders.demo_delay_ms) or none (dead-letter) for merchants without merchants.<id>.backend",
            defaultValue: { $0.orders.defaultBackend.rawValue },
            apply: { configuration, text throws(ConfigurationError) in
                guard let backend = OrdersConfiguration.DefaultBackend(rawValue: text) else {
                    throw ConfigurationError(description: "orders.default_backend must be demo or none, got '\(text)'")
                }
                configuration.orders.defaultBackend = backend
            }
        ),
        .optionalString("orders.outbox", "the outbox SQLite file; default <data_dir>/orders.sqlite", \.outboxPath),
        .optionalString(
            "orders.outbox_url",
            "postgres://user[:password]@host[:port]/database of an outbox shared by a cluster's nodes (a dead node's checkouts are delivered by the others); unset: the SQLite file",
            \.orders.sharedOutboxURL),
        .string("orders.outbox_schema", "the PostgreSQL schema of the shared outbox's tables (created when missing)", \.orders.sharedOutboxSchema),
        .int64(
            "orders.claim_ms", "on a shared outbox, how long a node's claim on an order it delivers lasts (longer than any backend's timeout): a dead node's orders go again after it",
            \.orders.claimMilliseconds, range: 1_000...3_600_000),
        .int64(
            "orders.retention_ms", "settled orders, their checkouts and idempotency keys, and buyers' notices are deleted this long after (dead letters stay)",
            \.orders.retentionMilliseconds, range: 86_400_000...31_536_000_000),
        .int("orders.demo_delay_ms", "how long the demo backend takes to confirm", \.orders.demoDelayMilliseconds, range: 0...60_000),
        .int("orders.max_attempts", "deliveries of one order before it is dead-lettered", \.orders.retry.maxAttempts, range: 1...1_000),
        .int64("orders.max_age_ms", "an order not delivered after this long is dead-lettered", \.orders.retry.maxAgeMilliseconds, range: 1_000...2_592_000_000),
        .int64("orders.retry_base_ms", "first retry delay (doubles per attempt, full jitter)", \.orders.retry.baseDelayMilliseconds, range: 1...3_600_000),
        .int64("orders.retry_max_ms", "longest retry delay", \.orders.retry.maxDelayMilliseconds, range: 1...86_400_000),
        .int("orders.breaker_threshold", "failures in a row that open a backend's circuit", \.orders.breakerThreshold, range: 1...1_000),
        .int64("orders.breaker_cooldown_ms", "how long an open circuit waits before one trial delivery", \.orders.breakerCooldownMilliseconds, range: 1...3_600_000),
        .int("orders.max_in_flight", "deliveries out to backends at once", \.orders.maxInFlight, range: 1...100_000),
        .int("orders.notices_per_connection", "stored order notices a buyer's new connection is sent at once (more on the next)", \.orders.noticesPerConnection, range: 1...100_000),
        .int("orders.max_replays", "settled orders replayed to an order service per orders.subscribe with since", \.orders.maxReplays, range: 1...1_000_000),
        .int64(
            "affiliates.referral_window_ms", "how long a viewer who arrived through an influencer's link keeps its code for checkouts",
            \.affiliates.referralWindowMilliseconds, range: 60_000...31_536_000_000),
        .optionalString(
            "affiliates.referral_secret",
            "signs referral tickets (at least 16 bytes; the same on every node of a cluster); unset: derived from jwt.secret, or per process with JWKS only",
            \.affiliates.referralSecret),
        .int("affiliates.max_codes", "registered influencer codes at most (all are kept in memory)", \.affiliates.maxCodes, range: 1...10_000_000),
        .int64(
            "affiliates.refresh_ms", "how often a node reads the codes and merchants registered through other nodes (shared outbox)", \.affiliates.refreshMilliseconds,
            range: 100...3_600_000),
        .int64("presence.interval_ms", "presence (viewer count) leaves at most this often", \.hub.room.presenceIntervalMilliseconds, range: 100...600_000),
        .int("metrics.port", "a second listener serving only GET /metrics without a token, for Prometheus (0: none; /metrics on the main port needs an admin token)", \.metricsPort, range: 0...65_535),
        .string("metrics.host", "address of the metrics.port listener", \.metricsHost),
        .optionalString(
            "tracing.otlp_endpoint", "OpenTelemetry collector's OTLP/HTTP base URL (http://host:4318): checkout traces are sent to <it>/v1/traces (unset: no traces)",
            \.tracing.otlpEndpoint),
        ConfigurationKey(
            name: "tracing.sample_ratio",
            summary: "share of checkouts traced, 0 to 1",
            defaultValue: { "\($0.tracing.sampleRatio)" },
            apply: { configuration, text throws(ConfigurationError) in
                guard let ratio = Double(text), (0...1).contains(ratio) else {
                    throw ConfigurationError(description: "tracing.sample_ratio must be a number from 0 to 1, got '\(text)'")
                }
                configuration.tracing.sampleRatio = ratio
            }
        ),
        .string("tracing.service_name", "service.name on the spans", \.tracing.serviceName),
        .milliseconds("drain_timeout_ms", "graceful shutdown waits this long for connections to close", \.drainTimeout),
        .int(
            "drain_grace_ms", "on shutdown the listener stays open this long, /readyz answering 503 and upgrades refused, so a load balancer stops sending connections (0: closes at once)",
            \.drainGraceMilliseconds, range: 0...600_000),
        .bool("conformance_echo", "serve /echo (Autobahn target) on the WebSocket stack", \.conformanceEcho),
        .string("log.level", "trace, debug, info, notice, warning, error, critical", \.logLevel),
        .string("log.format", "text or json", \.logFormat),
    ]

    var quotaHTTPRequestsPerSecond: Int {
        get { Int(quotas.httpRequestsPerSecond.rounded()) }
        set { quotas.httpRequestsPerSecond = Double(newValue) }
    }

    var chatMessagesPerMinute: Int {
        get { Int((hub.room.chat.messagesPerSecond * 60).rounded()) }
        set { hub.room.chat.messagesPerSecond = Double(newValue) / 60 }
    }

    var questionSimilarityPercent: Int {
        get { Int((hub.room.questions.similarityThreshold * 100).rounded()) }
        set { hub.room.questions.similarityThreshold = Double(newValue) / 100 }
    }

    var idleStreamMillisecondsInt: Int {
        get { Int(hub.idleStreamMilliseconds) }
        set { hub.idleStreamMilliseconds = Int64(newValue) }
    }

    var streamRetentionMillisecondsInt: Int {
        get { hub.streamRetentionMilliseconds.map { Int($0) } ?? 0 }
        set { hub.streamRetentionMilliseconds = newValue == 0 ? nil : Int64(newValue) }
    }

    var archiveRetentionMillisecondsInt: Int {
        get { archiveRetentionMilliseconds.map { Int($0) } ?? 0 }
        set { archiveRetentionMilliseconds = newValue == 0 ? nil : Int64(newValue) }
    }

    var historyMaxAgeMillisecondsInt: Int {
        get { Int(hub.historyMaxAgeMilliseconds) }
        set { hub.historyMaxAgeMilliseconds = Int64(newValue) }
    }

    /// Applies settings in order of precedence: defaults < file < environment < overrides.
    /// `file` is a flat JSON object of key names to values.
    public static func load(fileContents: String?, environment: [String: String], overrides: [String: String]) throws(ConfigurationError) -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        let byName = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })
        if let fileContents {
            let values = try ConfigurationFile.parse(fileContents)
            for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                if name.hasPrefix("merchants.") {
                    try MerchantBackendConfiguration.apply(key: name, value: value, to: &configuration.orders)
                    continue
                }
                guard let key = byName[name] else { throw ConfigurationError(description: "unknown configuration key '\(name)' in the config file") }
                try key.apply(&configuration, value)
            }
        }
        for key in keys {
            if let value = environment[key.environmentVariable] { try key.apply(&configuration, value) }
        }
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) {
            if name.hasPrefix("merchants.") {
                try MerchantBackendConfiguration.apply(key: name, value: value, to: &configuration.orders)
                continue
            }
            guard let key = byName[name] else { throw ConfigurationError(description: "unknown configuration key '\(name)'") }
            try key.apply(&configuration, value)
        }
        for (merchant, backend) in configuration.orders.merchants.sorted(by: { $0.key < $1.key }) {
            try backend.validate(merchant: merchant)
        }
        // In leases, channel names and the length-prefixed header of cluster announcements.
        if let node = configuration.clusterNodeID, node.utf8.count > 128 {
            throw ConfigurationError(description: "cluster.node_id must be at most 128 bytes")
        }
        if configuration.orders.sharedOutboxURL != nil {
            guard configuration.clusterRedisURL != nil else {
                throw ConfigurationError(description: "orders.outbox_url is the outbox a cluster's nodes share: set cluster.redis_url too")
            }
            // A claim that lapses while its call is out lets another node call the merchant too.
            for (merchant, backend) in configuration.orders.merchants.sorted(by: { $0.key < $1.key }) {
                let (name, call): (String, Int) =
                    switch backend.kind {
                    case .orderService: ("visibility_timeout_ms", backend.visibilityTimeoutMilliseconds)
                    case .webhook, .postgres: ("timeout_ms", backend.timeoutMilliseconds)
                    case .demo, nil: ("", 0)
                    }
                guard Int64(call) < configuration.orders.claimMilliseconds else {
                    throw ConfigurationError(
                        description: "orders.claim_ms (\(configuration.orders.claimMilliseconds)) must be longer than merchants.\(merchant).\(name) (\(call))")
                }
            }
        }
        if let endpoint = configuration.tracing.otlpEndpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw ConfigurationError(description: "tracing.otlp_endpoint must be an http(s) URL, got '\(endpoint)'")
        }
        guard configuration.logFormat == "text" || configuration.logFormat == "json" else {
            throw ConfigurationError(description: "log.format must be text or json")
        }
        if let secret = configuration.jwtSecret, secret.utf8.count < 32 {
            throw ConfigurationError(description: "jwt.secret must be at least 32 bytes (HS256 keys shorter than the hash are weak)")
        }
        guard (configuration.tlsCertificatePath == nil) == (configuration.tlsPrivateKeyPath == nil) else {
            throw ConfigurationError(description: "tls.certificate and tls.private_key go together")
        }
        return configuration
    }
}
