// Hawker JavaScript SDK (hawker.v1). Plain ES module, no dependencies, no build step.
// Served by the gateway at /sdk/hawker.js. Protocol/PROTOCOL.md is the reference for
// every message named here.

/** Close codes after which reconnecting cannot help (PROTOCOL.md §10). */
const FINAL_CLOSE_CODES = new Set([1000, 1002, 1003, 1007, 1008, 1009, 4502]);
/** Close codes that need a new token before reconnecting. */
const TOKEN_CLOSE_CODES = new Set([4500, 4501]);
/** Subscribes sent behind `connect`, under the 16 commands the server keeps waiting. */
const PIPELINED_SUBSCRIBES = 15;
/** Close codes after which the server asks for a longer pause. */
const SLOW_DOWN_CLOSE_CODES = new Map([[4002, 5000]]);

/**
 * A refused command: the `error` frame's code, message and details.
 */
export class HawkerError extends Error {
  /** @param {{code: string, message: string, retry_after_ms?: number, product?: string, current_price?: number, available?: number, charges?: Charge[], totals?: Total[]}} frame */
  constructor(frame) {
    super(frame.message);
    this.name = "HawkerError";
    /** @type {string} one of PROTOCOL.md §9's codes, or "disconnected" */
    this.code = frame.code;
    /** @type {number | undefined} */
    this.retryAfterMs = frame.retry_after_ms;
    /** @type {string | undefined} */
    this.product = frame.product;
    /** @type {number | undefined} */
    this.currentPrice = frame.current_price;
    /** @type {number | undefined} */
    this.available = frame.available;
    /** @type {Charge[] | undefined} `total_changed`: the cart's figures now */
    this.charges = frame.charges;
    /** @type {Total[] | undefined} `total_changed`: what the cart costs now, per currency */
    this.totals = frame.totals;
  }
}

/**
 * @typedef {"connecting" | "open" | "reconnecting" | "closed"} ConnectionStatus
 * @typedef {{position: StreamPosition | null, state: any, active: boolean, inFlight: Promise<Subscribed> | null, waiters: {resolve: (reply: Subscribed) => void, reject: (error: HawkerError) => void}[]}} StreamEntry
 * @typedef {{epoch: string, seq: number}} StreamPosition
 * @typedef {{type: string, [field: string]: any}} Message
 * @typedef {{product: string, variant?: string, qty: number, price_seen: number}} CheckoutItem
 * @typedef {{product: string, variant?: string, qty: number}} QuoteItem
 * @typedef {{country: string, subdivision?: string, postcode?: string}} Destination
 * @typedef {{currency: string, amount: number}} Total
 * @typedef {{shipTo?: Destination, region?: string, totalsSeen?: Total[], attribution?: Attribution, idempotencyKey?: string}} CheckoutOptions
 * @typedef {{code?: string, stream?: string, referrer?: string, referral?: string}} Attribution
 *
 * Server messages (PROTOCOL.md §6-7; Protocol/schemas has one schema per type):
 * @typedef {{type: "welcome", re: string, protocol: "hawker.v1", session: string, server_time: number, user: {sub: string, role: string}, limits: object}} Welcome
 * @typedef {{type: "subscribed", re: string, stream: string, epoch: string, seq: number, recovered: boolean, state?: object, replayed?: number}} Subscribed
 * @typedef {{type: "event", stream: string, epoch: string, seq: number, ts: number, kind: string, data: object}} StreamEvent
 * @typedef {{id: string, user: string, name?: string, role: string, text: string, kind: "chat" | "question" | "purchase", ts: number}} ChatMessage
 * @typedef {{type: "chat", stream: string, messages?: ChatMessage[], deleted?: string[], sampled_out?: number}} ChatPush
 * @typedef {{type: "presence", stream: string, viewers: number}} Presence
 * @typedef {{type: "gap", stream: string, coalesced: number, chat_batches_missed: number, chat_messages_missed: number}} Gap
 * @typedef {{product: string, variant?: string, qty: number, unit_price: number, currency: string, merchant: string, sale?: string}} OrderLine
 * @typedef {"unknown_code" | "code_not_active" | "not_for_stream" | "not_for_products" | "referral_expired" | "invalid_referral"} DeclineReason
 * @typedef {{codes: string[], declined?: {code?: string, reason: DeclineReason}}} CheckoutAttribution
 * @typedef {{merchant: string, currency: string, subtotal: number, shipping: number, tax: number, tax_included: boolean, total: number, zone?: string}} Charge
 * @typedef {{type: "checkout.accepted", re: string, stream: string, checkout_id: string, items: OrderLine[], totals: Total[], charges?: Charge[], ship_to?: Destination, merchants: string[], replayed: boolean, attribution: CheckoutAttribution}} CheckoutAccepted
 * @typedef {{type: "quote", re: string, stream: string, ship_to: Destination, charges: Charge[], totals: Total[], not_shipping: string[]}} QuoteReply
 * @typedef {{type: "referral", re: string, code: string, ticket: string, expires_at: number}} Referral
 * @typedef {{product: string, variant?: string, qty: number}} RequestItem
 * @typedef {"pending" | "received" | "accepted" | "declined" | "failed"} RequestStatus
 * @typedef {{request_id: string, kind: "cancel" | "return", items: RequestItem[], reason?: string, status: RequestStatus, answer?: string, created_at: number, updated_at: number}} OrderRequestEntry
 * @typedef {{merchant: string, status: "pending" | "confirmed" | "failed", reference?: string, fulfilment?: {status: string, tracking?: string, note?: string, reference?: string, at: number}, requests?: OrderRequestEntry[], may_request: ("cancel" | "return")[]}} OrderPart
 * @typedef {{checkout_id: string, stream: string, created_at: number, status: "pending" | "confirmed" | "partly_failed" | "failed", items: OrderLine[], totals: Total[], charges?: Charge[], ship_to?: Destination, parts: OrderPart[]}} Order
 * @typedef {{type: "order.history", re: string, orders: Order[], next_after?: string}} OrderHistoryReply
 * @typedef {OrderRequestEntry & {type: "order.request", re: string, checkout_id: string, merchant: string}} OrderRequestReply
 * @typedef {{type: "order.request.status", checkout_id: string, merchant: string, request_id: string, kind: "cancel" | "return", status: RequestStatus, items: RequestItem[], answer?: string, stream: string, at: number}} OrderRequestStatus
 * @typedef {{type: "order.confirmed", checkout_id: string, merchant: string, reference: string, stream: string, at: number}} OrderConfirmed
 * @typedef {{type: "order.failed", checkout_id: string, merchant: string, reason: string, stream: string, at: number}} OrderFailed
 * @typedef {{type: "order.status", checkout_id: string, merchant: string, status: string, reference?: string, tracking?: string, note?: string, stream: string, at: number}} OrderStatus
 * @typedef {{type: "error", re?: string, code: string, message: string, retry_after_ms?: number, product?: string, current_price?: number, available?: number, charges?: Charge[], totals?: Total[]}} ErrorFrame
 */

/**
 * One connection to a gateway, kept open: it reconnects with exponential backoff and
 * jitter (except after the close codes that say not to), resubscribes every stream
 * from the last event it saw so that nothing is lost, and answers each command with a
 * promise of its reply.
 *
 * Given several gateways (`urls`, the nodes of a cluster), it starts at a random one and
 * moves to the next after every close or failed attempt. Reconnects after losing an open
 * connection are spread over `spreadMs`, so that the viewers of a node that died do not
 * all arrive at the others in the same second.
 */
export class HawkerClient {
  /**
   * @param {object} options
   * @param {string} [options.url] WebSocket URL; default: this page's host, path /ws
   * @param {string[]} [options.urls] several gateways' WebSocket URLs (a cluster's nodes), tried in turn from a random one
   * @param {string | (() => string | Promise<string>) | null} [options.token] a token, or a function that returns a fresh one (called on every connect)
   * @param {number} [options.backoffMs] first reconnect delay (default 500)
   * @param {number} [options.maxBackoffMs] longest reconnect delay (default 15000)
   * @param {number} [options.spreadMs] the first reconnect after losing an open connection comes at a random time within this (default 3000)
   * @param {number} [options.commandTimeoutMs] how long a command waits for its reply (default 15000)
   */
  constructor(options = {}) {
    const location = globalThis.location;
    const scheme = location && location.protocol === "https:" ? "wss:" : "ws:";
    const fallback = options.url || (location ? `${scheme}//${location.host}/ws` : "ws://127.0.0.1:8080/ws");
    /** @type {string[]} */
    this.urls = Array.isArray(options.urls) && options.urls.length > 0 ? [...options.urls] : [fallback];
    this._urlIndex = Math.floor(Math.random() * this.urls.length);
    this.spreadMs = options.spreadMs ?? 3000;
    this.token = options.token ?? null;
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 15000;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 15000;
    /** @type {ConnectionStatus} */
    this.status = "closed";
    /** @type {Message | null} the last `welcome` */
    this.welcome = null;
    /** Server time minus local time, in ms (from `welcome.server_time`). */
    this.clockOffsetMs = 0;
    this._socket = null;
    this._nextId = 1;
    this._pending = new Map();
    this._listeners = new Map();
    /** @type {Map<string, StreamEntry>} */
    this._streams = new Map();
    /** The socket `connect` was sent on: commands may follow it at once. */
    this._connectSentOn = null;
    this._attempt = 0;
    this._timer = null;
    this._stopped = true;
  }

  /** The gateway this client is connected (or connecting) to. */
  get url() {
    return this.urls[this._urlIndex];
  }

  /** Now on the server's clock (ms since the epoch): countdowns agree with the server. */
  serverNow() {
    return Date.now() + this.clockOffsetMs;
  }

  /**
   * Listens for a message type ("event", "chat", "presence", "order.confirmed", ...),
   * or "*" for every message, or "status" for connection status changes.
   * @param {string} type
   * @param {(message: any) => void} handler
   * @returns {() => void} stops listening
   */
  on(type, handler) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(handler);
    return () => this._listeners.get(type)?.delete(handler);
  }

  /**
   * Keeps `model` current for its stream: reset from `subscribed.state` (a first
   * subscribe, or a resume the server could not recover), then every `event` applied in
   * order. `onChange` runs after each, with the event (or null after a reset). Subscribe
   * to the stream as well.
   * @param {StreamModel} model
   * @param {(event: StreamEvent | null) => void} [onChange]
   * @returns {() => void} stops following
   */
  follow(model, onChange = () => {}) {
    const offSubscribed = this.on("subscribed", (reply) => {
      if (reply.stream !== model.stream) return;
      if (reply.state) model.reset(reply.state);
      onChange(null);
    });
    const offEvent = this.on("event", (event) => {
      if (event.stream !== model.stream) return;
      model.apply(event);
      onChange(event);
    });
    return () => { offSubscribed(); offEvent(); };
  }

  /**
   * Opens the connection; resolves with `welcome`. Reconnects by itself afterwards.
   * @returns {Promise<Welcome>}
   */
  connect() {
    this._stopped = false;
    return new Promise((resolve, reject) => {
      this._onFirstWelcome = { resolve, reject };
      this._open();
    });
  }

  /** Closes for good (no reconnect). */
  close() {
    this._stopped = true;
    clearTimeout(this._timer);
    if (this._socket) this._socket.close(1000, "bye");
    this._setStatus("closed");
    this._rejectWaiters(new HawkerError({ code: "disconnected", message: "the client was closed" }));
  }

  /**
   * Subscribes to a stream; resolves with `subscribed` (its `state` when not resumed).
   * After a reconnect the subscription resumes from the last event seen. Called right
   * after `connect()`, the subscribe goes out together with `connect`: one round trip
   * to the snapshot (PROTOCOL.md §5.2).
   * @param {string} stream
   * @returns {Promise<Subscribed>}
   */
  subscribe(stream) {
    const entry = this._streams.get(stream) || { position: null, state: null, active: false, inFlight: null, waiters: [] };
    this._streams.set(stream, entry);
    if (this.status === "open") return entry.inFlight || this._sendSubscribe(stream, entry);
    if (this._stopped) return Promise.reject(new HawkerError({ code: "disconnected", message: "not connected" }));
    // Before `welcome`: settled by the subscribe that goes out right behind `connect`
    // (now, when `connect` has gone out), or by the one after `welcome` if that one is
    // refused or lost.
    const promise = new Promise((resolve, reject) => entry.waiters.push({ resolve, reject }));
    if (this._canSend() && !entry.inFlight) this._sendSubscribe(stream, entry).catch(() => {});
    return promise;
  }

  /** @param {string} stream */
  async unsubscribe(stream) {
    const entry = this._streams.get(stream);
    if (entry) {
      for (const waiter of entry.waiters) waiter.reject(new HawkerError({ code: "unsubscribed", message: `unsubscribed from ${stream}` }));
      entry.waiters = [];
    }
    this._streams.delete(stream);
    return this.send({ type: "unsubscribe", stream });
  }

  /**
   * Sends a command; resolves with its reply, rejects with a HawkerError.
   * @param {Message} command without `id` (one is added)
   * @returns {Promise<Message>}
   */
  send(command) {
    const id = `c${this._nextId++}`;
    return new Promise((resolve, reject) => {
      if (!this._canSend()) {
        reject(new HawkerError({ code: "disconnected", message: "not connected" }));
        return;
      }
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new HawkerError({ code: "timeout", message: `no reply to ${command.type}` }));
      }, this.commandTimeoutMs);
      this._pending.set(id, { resolve, reject, timer });
      this._socket.send(JSON.stringify({ ...command, id }));
    });
  }

  /**
   * Sends a fire-and-forget command (`chat.send`, `question.upvote` or `intent`) without
   * an id: no reply; a refusal arrives as an `error` message without `re`
   * (PROTOCOL.md §2). Returns false when not connected (nothing was sent).
   * @param {Message} command without `id`
   * @returns {boolean}
   */
  fire(command) {
    if (!this._canSend()) return false;
    this._socket.send(JSON.stringify(command));
    return true;
  }

  // Typed helpers, one per command (PROTOCOL.md §6).

  /** @param {string} stream @param {string} kind @param {object} data */
  publish(stream, kind, data = {}) { return this.send({ type: "publish", stream, event: { kind, data } }); }
  /** @param {string} stream @param {string} text */
  chat(stream, text) { return this.send({ type: "chat.send", stream, text }); }
  /** @param {string} stream @param {string} text */
  ask(stream, text) { return this.send({ type: "question.ask", stream, text }); }
  /** @param {string} stream @param {string} question */
  upvote(stream, question) { return this.send({ type: "question.upvote", stream, question }); }
  /** @param {string} stream @param {string} question @param {string} [answer] */
  answer(stream, question, answer) { return this.send({ type: "question.answer", stream, question, ...(answer ? { answer } : {}) }); }
  /** @param {string} stream @param {string} product @param {"view"|"add_to_cart"|"remove_from_cart"} action @param {string} [variant] */
  intent(stream, product, action, variant) { return this.send({ type: "intent", stream, product, action, ...(variant ? { variant } : {}) }); }
  /** @param {string} stream @param {string} action @param {object} fields e.g. {user} or {message} */
  moderate(stream, action, fields = {}) { return this.send({ type: "moderate", stream, action, ...fields }); }
  /**
   * Buys; resolves with `checkout.accepted`, whose `totals` are what was charged.
   * Retrying with the same idempotency key is safe: the first answer comes back. Where it
   * ships is `shipTo` (or, from older callers, a `region` such as "DE" or "DE-BE");
   * `totalsSeen` are the totals the buyer was shown (a quote's), shipping and tax
   * included: when the cart costs something else now it is refused with `total_changed`
   * and the new figures (`error.charges`, `error.totals`), to show and buy again with a
   * new idempotency key. Without `totalsSeen` the lines' sum is what the buyer saw.
   * @param {string} stream
   * @param {CheckoutItem[]} items
   * @param {CheckoutOptions} options
   * @returns {Promise<CheckoutAccepted>}
   */
  checkout(stream, items, options) {
    const key = options.idempotencyKey || newKey();
    return this.send({
      type: "checkout", stream, items,
      ...(options.shipTo ? { ship_to: options.shipTo } : { region: options.region }),
      ...(options.totalsSeen ? { totals_seen: options.totalsSeen } : {}),
      idempotency_key: key,
      ...(options.attribution ? { attribution: options.attribution } : {}),
    });
  }
  /**
   * What `items` cost delivered to `shipTo` at today's prices, shipping and tax included
   * (one charge per merchant and currency), and which of the stream's products do not
   * ship there; resolves with `quote`. Nothing is reserved. Without items, only
   * `not_shipping`. Rejects like `checkout` would for the cart (`region_not_served`,
   * `currency_mismatch`, `unknown_product`, ...: `error.product` names it).
   * @param {string} stream
   * @param {{shipTo: Destination, items?: QuoteItem[]}} options items may be checkout items (their `price_seen` is not sent)
   * @returns {Promise<QuoteReply>}
   */
  quote(stream, options) {
    const items = (options.items || []).map(({ product, variant, qty }) => (variant === undefined ? { product, qty } : { product, variant, qty }));
    return this.send({ type: "quote", stream, ship_to: options.shipTo, ...(items.length > 0 ? { items } : {}) });
  }
  /**
   * Asks for a referral ticket for an influencer's code (the viewer came through its
   * link), or presents the ticket kept from one (`{ticket}`: a returning viewer); resolves
   * with `referral`: the canonical code, the ticket to send as `attribution.referral` with
   * checkouts, and when it expires (server clock). With `options.stream`, the viewer counts
   * as a visit of that stream in the code's funnel; either way this connection's
   * add-to-carts count there. Rejects with `unknown_code`, `code_not_active`, and for a
   * ticket `referral_expired` or `invalid_referral`.
   * @param {string | {ticket: string}} request
   * @param {{stream?: string}} [options]
   * @returns {Promise<Referral>}
   */
  referral(request, options = {}) {
    const what = typeof request === "string" ? { code: request } : { ticket: request.ticket };
    return this.send({ type: "referral", ...what, ...(options.stream ? { stream: options.stream } : {}) });
  }
  /**
   * The buyer's own orders, newest first: what each cost, and per merchant its outcome
   * and latest shipping status; resolves with `order.history`. A full page carries
   * `next_after`: pass it as `after` for the next. Needs a signed-in token that is not an
   * order service (else `forbidden`); `unavailable` asks to try again after
   * `retryAfterMs`.
   * @param {{after?: string, limit?: number}} [options] limit 1-100 (default 20)
   * @returns {Promise<OrderHistoryReply>}
   */
  orderHistory({ after, limit } = {}) {
    return this.send({ type: "order.history", ...(after ? { after } : {}), ...(limit !== undefined ? { limit } : {}) });
  }
  /**
   * Asks the seller of one part of the buyer's order to cancel units before they ship
   * (`kind` "cancel") or to take a return ("return"): `items` for some units, none for
   * every unit left. Resolves with `order.request` (status "pending"); the merchant's
   * answer comes as `order.request.status` pushes (received, accepted, declined, failed).
   * Retrying with the same `requestId` is safe: the request as it stands comes back (so
   * pass one of your own to be able to retry after a timeout or a dropped connection).
   * Rejects with `unknown_checkout`, `request_refused` (not confirmed yet, shipped
   * already for a cancel, no units left), `limit_reached` or `forbidden`.
   * @param {string} checkoutId
   * @param {string} merchant
   * @param {{kind: "cancel" | "return", items?: RequestItem[], reason?: string, requestId?: string}} options
   * @returns {Promise<OrderRequestReply>}
   */
  orderRequest(checkoutId, merchant, { kind, items, reason, requestId }) {
    return this.send({
      type: "order.request", checkout_id: checkoutId, merchant, request_id: requestId || newKey(), kind,
      ...(items ? { items } : {}), ...(reason ? { reason } : {}),
    });
  }
  ping() { return this.send({ type: "ping" }); }

  // Internals.

  _open() {
    clearTimeout(this._timer);
    this._setStatus(this._attempt === 0 ? "connecting" : "reconnecting");
    let socket;
    try {
      socket = new WebSocket(this.url, "hawker.v1");
    } catch (error) {
      this._scheduleReconnect(null);
      return;
    }
    this._socket = socket;
    socket.onopen = async () => {
      try {
        const token = typeof this.token === "function" ? await this.token() : this.token;
        const id = `c${this._nextId++}`;
        this._connectId = id;
        socket.send(JSON.stringify({ type: "connect", id, ...(token ? { token } : {}) }));
        this._connectSentOn = socket;
        // The subscriptions go right behind `connect`: the server answers them after
        // `welcome`, in order. It keeps at most 16 commands waiting; the rest follow
        // `welcome`.
        this._resubscribe(undefined, PIPELINED_SUBSCRIBES);
      } catch (error) {
        socket.close(1000, "no token");
      }
    };
    socket.onmessage = (message) => this._receive(JSON.parse(message.data));
    socket.onclose = (close) => {
      if (this._socket !== socket) return;
      this._socket = null;
      this._failPending();
      for (const entry of this._streams.values()) entry.active = false;
      this._scheduleReconnect(close.code, this._welcomed === socket);
    };
  }

  _receive(message) {
    if (message.type === "welcome" && message.re === this._connectId) {
      this.welcome = message;
      this._welcomed = this._socket;
      this.clockOffsetMs = message.server_time - Date.now();
      this._attempt = 0;
      this._setStatus("open");
      if (this._onFirstWelcome) {
        this._onFirstWelcome.resolve(message);
        this._onFirstWelcome = null;
      }
      this._emit(message);
      this._resubscribe();
      return;
    }
    if (message.type === "error" && message.re && message.re === this._connectId) {
      this._lastConnectError = message;
    }
    if (message.re && this._pending.has(message.re)) {
      const { resolve, reject, timer } = this._pending.get(message.re);
      clearTimeout(timer);
      this._pending.delete(message.re);
      if (message.type === "error") reject(new HawkerError(message));
      else resolve(message);
    }
    if (message.type === "event" && message.stream) {
      const entry = this._streams.get(message.stream);
      if (entry) entry.position = { epoch: message.epoch, seq: message.seq };
    }
    this._emit(message);
  }

  /** Whether commands may go out now: `connect` was sent on the open socket. */
  _canSend() {
    return this._socket !== null && this._connectSentOn === this._socket && this._socket.readyState === 1;
  }

  /**
   * Sends `subscribe` for an entry and settles whoever waited for it. A subscribe lost
   * with the connection, or refused before `welcome`, is tried again after the next
   * `welcome` for those who waited.
   * @param {string} stream @param {StreamEntry} entry
   */
  _sendSubscribe(stream, entry) {
    const waiters = entry.waiters;
    entry.waiters = [];
    const promise = this.send({ type: "subscribe", stream, ...(entry.position ? { since: entry.position } : {}) })
      .then((reply) => {
        this._subscribed(stream, reply);
        return reply;
      });
    entry.inFlight = promise;
    promise.then(
      (reply) => {
        if (entry.inFlight === promise) entry.inFlight = null;
        for (const waiter of waiters) waiter.resolve(reply);
      },
      (error) => {
        if (entry.inFlight === promise) entry.inFlight = null;
        // Lost with the connection, or refused before `welcome` (past the server's bound
        // of waiting commands, or a gateway without pipelining): sent again after the
        // next `welcome`, for whoever waited.
        const again = error.code === "disconnected" || error.code === "not_connected";
        if (again && !this._stopped && this._streams.get(stream) === entry) entry.waiters.push(...waiters);
        else for (const waiter of waiters) waiter.reject(error);
      });
    return promise;
  }

  /** @param {HawkerError} error */
  _rejectWaiters(error) {
    for (const entry of this._streams.values()) {
      for (const waiter of entry.waiters) waiter.reject(error);
      entry.waiters = [];
    }
  }

  _subscribed(stream, reply) {
    const entry = this._streams.get(stream);
    if (!entry) return;
    entry.active = true;
    if (reply.epoch !== undefined && reply.seq !== undefined) entry.position = { epoch: reply.epoch, seq: reply.seq };
    if (reply.state) entry.state = reply.state;
  }

  /**
   * After a reconnect: every stream again, from the last event seen. A stream the
   * server does not have (yet: it restarted and its host has not published again) is
   * tried again every few seconds while connected.
   */
  _resubscribe(only, limit = Infinity) {
    let sent = 0;
    for (const [stream, entry] of this._streams) {
      if (entry.active || entry.inFlight || (only && only !== stream)) continue;
      if (sent >= limit) break;
      sent += 1;
      this._sendSubscribe(stream, entry)
        .catch((error) => {
          if (error.code === "not_connected") return;  // sent again after `welcome`
          this._emit({ type: "subscribe.failed", stream, error });
          if (error.code === "stream_not_found" && this.status === "open") {
            setTimeout(() => this.status === "open" && this._resubscribe(stream), 1000 + Math.random() * 2000);
          }
        });
    }
  }

  _scheduleReconnect(code, lostOpen = false) {
    if (this._stopped) return;
    const final = code !== null && FINAL_CLOSE_CODES.has(code);
    const needsToken = code !== null && TOKEN_CLOSE_CODES.has(code) && typeof this.token !== "function";
    if (final || needsToken) {
      this._stopped = true;
      this._setStatus("closed");
      const error = new HawkerError(this._lastConnectError || { code: `close_${code}`, message: `closed with ${code}` });
      if (this._onFirstWelcome) {
        this._onFirstWelcome.reject(error);
        this._onFirstWelcome = null;
      }
      this._rejectWaiters(error);
      this._emit({ type: "closed", code, error });
      return;
    }
    this._attempt += 1;
    // The next gateway, when there are several: the one that failed may be gone.
    this._urlIndex = (this._urlIndex + 1) % this.urls.length;
    // Exponential backoff with full jitter, at least what the close code asks for; the
    // first attempt after an open connection was lost spread wider (a node's viewers
    // all lose it at once).
    const backoff = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.min(this._attempt - 1, 10));
    const ceiling = lostOpen ? Math.max(backoff, this.spreadMs) : backoff;
    const delay = Math.max(SLOW_DOWN_CLOSE_CODES.get(code) || 0, Math.random() * ceiling);
    this._setStatus("reconnecting");
    this._timer = setTimeout(() => this._open(), delay);
  }

  _failPending() {
    for (const [id, { reject, timer }] of this._pending) {
      clearTimeout(timer);
      reject(new HawkerError({ code: "disconnected", message: "the connection closed before the reply" }));
      this._pending.delete(id);
    }
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this._emit({ type: "status", status });
  }

  _emit(message) {
    for (const type of [message.type, "*"]) {
      for (const handler of this._listeners.get(type) || []) {
        try {
          handler(message);
        } catch (error) {
          console.error("hawker: a listener failed", error);
        }
      }
    }
  }
}

/** A random idempotency key (1-64 of [A-Za-z0-9_.:-]). */
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "k-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Formats minor units ("1999", "EUR") as a price for display. */
export function formatPrice(amount, currency) {
  try {
    // Minor units of the currency's own size: cents for EUR, yen for JPY, fils for KWD.
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}

/**
 * A stream's typed state kept current on the client: built from `subscribed.state`,
 * then every `event` applied in order (PROTOCOL.md §8). Pages render from it.
 */
export class StreamModel {
  /** @param {string} stream */
  constructor(stream) {
    this.stream = stream;
    this.reset(null, Date.now());
  }

  /**
   * Replaces everything with a state from `subscribed` (or GET /v1/streams/{id}).
   * @param {any} state
   */
  reset(state) {
    /** @type {Map<string, any>} */
    this.catalog = new Map();
    /** @type {string[]} */
    this.pinned = [];
    /** @type {Map<string, any>} sales by id, each with absolute `starts_at` / `ends_at` (server clock) */
    this.sales = new Map();
    this.info = { status: "idle" };
    this.announcement = null;
    this.viewers = 0;
    /** @type {Map<string, any>} */
    this.questions = new Map();
    if (!state) return;
    for (const product of state.catalog || []) this.catalog.set(product.id, product);
    this.pinned = state.pinned || [];
    for (const sale of state.sales || []) {
      const at = state.server_time;
      this.sales.set(sale.sale, {
        ...sale,
        starts_at: sale.starts_at ?? (sale.starts_in_ms !== undefined ? at + sale.starts_in_ms : at),
        ends_at: sale.ends_at ?? (sale.remaining_ms !== undefined ? at + sale.remaining_ms : undefined),
      });
    }
    this.info = state.stream || { status: "idle" };
    this.announcement = state.announcement || null;
    this.viewers = state.viewers || 0;
    for (const question of state.questions || []) this.questions.set(question.id, question);
  }

  /** Applies one `event` push. @param {{kind: string, data: any, ts: number}} event */
  apply(event) {
    const data = event.data || {};
    switch (event.kind) {
      case "catalog.set":
        this.catalog = new Map((data.products || []).map((p) => [p.id, this._product(p)]));
        this.pinned = this.pinned.filter((id) => this.catalog.has(id));
        break;
      case "product.upsert":
        this.catalog.set(data.product.id, this._product({ ...this.catalog.get(data.product.id), ...data.product }));
        break;
      case "product.removed":
        this.catalog.delete(data.product);
        this.pinned = this.pinned.filter((id) => id !== data.product);
        break;
      case "product.pinned":
      case "product.unpinned":
        this.pinned = data.pinned || [];
        break;
      case "price.changed": {
        const product = this.catalog.get(data.product);
        if (product) {
          product.price = data.price;
          if (data.previous_price !== undefined) product.previous_price = data.previous_price;
          else delete product.previous_price;
        }
        break;
      }
      case "stock.changed": {
        const product = this.catalog.get(data.product);
        if (!product) break;
        const threshold = data.low_stock_threshold ?? product.low_stock_threshold;
        if (data.variant === undefined) {
          Object.assign(product, { stock: data.level, low_stock: data.low_stock, sold_out: data.sold_out, low_stock_threshold: threshold });
          break;
        }
        // A variant's level; the product shows `product_level` (none: not limited).
        const variant = (product.variants || []).find((v) => v.id === data.variant);
        if (variant) Object.assign(variant, { stock: data.level, low_stock: data.low_stock, sold_out: data.sold_out });
        product.low_stock_threshold = threshold;
        if (data.product_level === undefined) {
          delete product.stock;
          product.sold_out = false;
          product.low_stock = false;
        } else {
          product.stock = data.product_level;
          product.sold_out = data.product_level === 0;
          product.low_stock = data.product_level > 0 && data.product_level <= threshold;
        }
        break;
      }
      case "sale.scheduled":
      case "sale.started":
        this.sales.set(data.sale, { ...this.sales.get(data.sale), ...data, sold: data.sold ?? 0 });
        break;
      case "sale.ended":
        this.sales.delete(data.sale);
        break;
      case "announcement":
        this.announcement = { text: data.text, ts: event.ts };
        break;
      case "stream.started":
        this.info = { ...this.info, ...data, status: "live" };
        break;
      case "stream.ended":
        this.info = { ...this.info, ...data, status: "ended" };
        break;
      case "question.answered": {
        const question = this.questions.get(data.question) || { id: data.question };
        this.questions.set(data.question, { ...question, ...data, answered: true });
        break;
      }
    }
  }

  /** The sale that covers `productId` now (server clock), if any. */
  activeSale(productId, now) {
    for (const sale of this.sales.values()) {
      if (sale.status === "scheduled" && !(sale.starts_at <= now)) continue;
      if (sale.ends_at !== undefined && sale.ends_at <= now) continue;
      if ((sale.items || []).some((item) => item.product === productId)) return sale;
    }
    return null;
  }

  /** What one unit (of `variantId`, when given) costs now: the sale price, else the variant's, else the product's. */
  unitPrice(productId, now, variantId) {
    const sale = this.activeSale(productId, now);
    const item = sale && sale.items.find((i) => i.product === productId);
    if (item) return item.price;
    const product = this.catalog.get(productId);
    const variant = variantId === undefined ? undefined : (product?.variants || []).find((v) => v.id === variantId);
    return variant?.price ?? product?.price;
  }

  _product(input) {
    const product = { ...input };
    if (product.stock !== undefined) {
      const threshold = product.low_stock_threshold ?? 5;
      product.low_stock_threshold = threshold;
      product.sold_out = product.stock === 0;
      product.low_stock = product.stock > 0 && product.stock <= threshold;
    }
    if (Array.isArray(product.variants)) {
      const threshold = product.low_stock_threshold ?? 5;
      product.variants = product.variants.map((input) => {
        const variant = { ...input };
        if (variant.stock !== undefined) {
          variant.sold_out = variant.stock === 0;
          variant.low_stock = variant.stock > 0 && variant.stock <= threshold;
        }
        return variant;
      });
    }
    return product;
  }
}
