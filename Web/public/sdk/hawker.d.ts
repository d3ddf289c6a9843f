// TypeScript declarations for the Hawker JavaScript SDK (hawker.js, hawker.v1).
// Protocol/PROTOCOL.md is the reference for every message; Protocol/schemas has one
// JSON schema per server message. scripts/browser/test_pages.py checks that every
// export, method and property declared here exists in hawker.js, and the other way round.

/** A connection's state. */
export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "closed";

/** Where a stream is: its epoch and the last event's sequence number. */
export interface StreamPosition {
  epoch: string;
  seq: number;
}

/** Any client command or server message. */
export interface Message {
  type: string;
  [field: string]: any;
}

export interface CheckoutItem {
  product: string;
  variant?: string;
  qty: number;
  /** The unit price the buyer saw, in minor units: a changed price refuses the checkout. */
  price_seen: number;
}

/** A cart line to price with `quote`; a `CheckoutItem` will do. */
export interface QuoteItem {
  product: string;
  variant?: string;
  qty: number;
}

/** Where an order ships. */
export interface Destination {
  /** ISO 3166-1 alpha-2, such as "DE". */
  country: string;
  /** ISO 3166-2, such as "DE-BE" ("BE" is taken too). */
  subdivision?: string;
  /** 1-10 letters and digits once spaces and dashes are removed; answers carry it so. */
  postcode?: string;
}

/** An amount in one currency, in minor units. */
export interface Total {
  currency: string;
  amount: number;
}

/** One merchant's part of a cart in one currency, in minor units. */
export interface Charge {
  merchant: string;
  currency: string;
  /** The goods: unit prices times quantities. */
  subtotal: number;
  shipping: number;
  /** Included in subtotal + shipping when `tax_included`, else added to them. */
  tax: number;
  tax_included: boolean;
  /** What the buyer pays for this part. */
  total: number;
  /** The merchant's shipping zone that priced it; absent when the merchant has no terms. */
  zone?: string;
}

/** The reply to `quote`. */
export interface QuoteReply {
  type: "quote";
  re: string;
  stream: string;
  /** The destination as the gateway reads it (upper case, postcode without spaces). */
  ship_to: Destination;
  /** Sorted by merchant, then currency; empty for a quote without items. */
  charges: Charge[];
  /** Σ charge totals per currency, sorted by currency: what to send as `totalsSeen`. */
  totals: Total[];
  /** The stream's products that do not ship to `ship_to`, sorted. */
  not_shipping: string[];
}

/** Where a checkout ships (`shipTo`, or from older callers `region`), and what the buyer was shown. */
export type CheckoutOptions = ({ shipTo: Destination; region?: string } | { shipTo?: undefined; region: string }) & {
  /** The totals the buyer was shown (a quote's), shipping and tax included; absent: the lines' sum. */
  totalsSeen?: Total[];
  attribution?: Attribution;
  idempotencyKey?: string;
};

export interface Attribution {
  code?: string;
  stream?: string;
  referrer?: string;
  /** A ticket from `referral`: the viewer came through a code's link. */
  referral?: string;
}

export interface Welcome {
  type: "welcome";
  re: string;
  protocol: "hawker.v1";
  session: string;
  server_time: number;
  user: { sub: string; role: string };
  limits: Record<string, number>;
}

export interface Subscribed {
  type: "subscribed";
  re: string;
  stream: string;
  epoch: string;
  seq: number;
  /** True when the subscription resumed from `since` with nothing missed. */
  recovered: boolean;
  /** The stream's typed state (PROTOCOL.md §8), when not recovered. */
  state?: Record<string, any>;
  replayed?: number;
}

export interface StreamEvent {
  type: "event";
  stream: string;
  epoch: string;
  seq: number;
  ts: number;
  kind: string;
  data: Record<string, any>;
}

export interface ChatMessage {
  id: string;
  user: string;
  name?: string;
  role: string;
  text: string;
  kind: "chat" | "question" | "purchase";
  ts: number;
}

export interface ChatPush {
  type: "chat";
  stream: string;
  messages?: ChatMessage[];
  deleted?: string[];
  sampled_out?: number;
}

export interface Presence {
  type: "presence";
  stream: string;
  viewers: number;
}

export interface Gap {
  type: "gap";
  stream: string;
  coalesced: number;
  chat_batches_missed: number;
  chat_messages_missed: number;
}

export interface OrderLine {
  product: string;
  variant?: string;
  qty: number;
  unit_price: number;
  currency: string;
  merchant: string;
  sale?: string;
}

export interface CheckoutAccepted {
  type: "checkout.accepted";
  re: string;
  stream: string;
  checkout_id: string;
  items: OrderLine[];
  /** What was charged per currency: the charges' totals, shipping and tax included. */
  totals: Total[];
  /** Each merchant's part (absent from checkouts accepted before charges existed). */
  charges?: Charge[];
  ship_to?: Destination;
  merchants: string[];
  replayed: boolean;
  /** The codes credited, and the one the buyer brought if it was not credited. */
  attribution: CheckoutAttribution;
}

/** Why the code a buyer brought was not credited. */
export type DeclineReason = "unknown_code" | "code_not_active" | "not_for_stream" | "not_for_products" | "referral_expired" | "invalid_referral";

export interface CheckoutAttribution {
  codes: string[];
  declined?: { code?: string; reason: DeclineReason };
}

/** The reply to `referral`. */
export interface Referral {
  type: "referral";
  re: string;
  /** The code in canonical form (upper case). */
  code: string;
  /** Opaque; send it as `attribution.referral` with checkouts until it expires. */
  ticket: string;
  /** When the ticket stops being credited, ms since the epoch (server clock). */
  expires_at: number;
}

/** One merchant's part of an order, as `orderHistory` shows it. */
export interface OrderPart {
  merchant: string;
  /** "failed": refused by the merchant, or given up on. */
  status: "pending" | "confirmed" | "failed";
  /** The merchant's order number, once confirmed. */
  reference?: string;
  /** The merchant's latest `order.status` for it (packed, shipped...). */
  fulfilment?: {
    /** The merchant's status word, e.g. "shipped". */
    status: string;
    /** A parcel tracking number or URL. */
    tracking?: string;
    note?: string;
    reference?: string;
    /** When the merchant sent it, ms since the epoch (server clock). */
    at: number;
  };
  /** The buyer's cancel and return requests of this part, oldest first (absent when none). */
  requests?: OrderRequestEntry[];
  /** What the buyer may ask of this part now (the server checks again): a return, and a cancel until it shipped. */
  may_request: ("cancel" | "return")[];
}

/** Units a request names: `{product, variant?, qty}`. */
export interface RequestItem {
  product: string;
  variant?: string;
  qty: number;
}

/** pending: not delivered yet; received: the shop has it; then accepted, declined, or failed (could not be delivered). */
export type RequestStatus = "pending" | "received" | "accepted" | "declined" | "failed";

/** A buyer's request to cancel or return units of a part. */
export interface OrderRequestEntry {
  request_id: string;
  kind: "cancel" | "return";
  items: RequestItem[];
  reason?: string;
  status: RequestStatus;
  /** Declined: the merchant's reason; failed: why. */
  answer?: string;
  created_at: number;
  updated_at: number;
}

/** The reply to `order.request`. */
export interface OrderRequestReply extends OrderRequestEntry {
  type: "order.request";
  re: string;
  checkout_id: string;
  merchant: string;
}

/** What became of a request (received, accepted, declined, failed). */
export interface OrderRequestStatus {
  type: "order.request.status";
  checkout_id: string;
  merchant: string;
  request_id: string;
  kind: "cancel" | "return";
  status: RequestStatus;
  items: RequestItem[];
  answer?: string;
  stream: string;
  at: number;
}

/** One of the buyer's checkouts, as `orderHistory` shows it. */
export interface Order {
  checkout_id: string;
  stream: string;
  /** When it was accepted, ms since the epoch (server clock). */
  created_at: number;
  /** Pending while a part is; confirmed when every part is; failed when every part failed; else partly_failed. */
  status: "pending" | "confirmed" | "partly_failed" | "failed";
  items: OrderLine[];
  /** What was charged per currency, shipping and tax included. */
  totals: Total[];
  charges?: Charge[];
  ship_to?: Destination;
  /** One per merchant, sorted by merchant. */
  parts: OrderPart[];
}

/** The reply to `order.history`. */
export interface OrderHistoryReply {
  type: "order.history";
  re: string;
  /** Newest first. */
  orders: Order[];
  /** Present when the page is full: the `after` of the next page. */
  next_after?: string;
}

export interface OrderConfirmed {
  type: "order.confirmed";
  checkout_id: string;
  merchant: string;
  reference: string;
  stream: string;
  at: number;
}

export interface OrderFailed {
  type: "order.failed";
  checkout_id: string;
  merchant: string;
  reason: string;
  stream: string;
  at: number;
}

export interface OrderStatus {
  type: "order.status";
  checkout_id: string;
  merchant: string;
  status: string;
  reference?: string;
  tracking?: string;
  note?: string;
  stream: string;
  at: number;
}

export interface ErrorFrame {
  type: "error";
  re?: string;
  code: string;
  message: string;
  retry_after_ms?: number;
  product?: string;
  current_price?: number;
  available?: number;
  /** `total_changed`: the cart's figures now. */
  charges?: Charge[];
  /** `total_changed`: what the cart costs now, per currency. */
  totals?: Total[];
}

/** What `on(type, …)` hands its handler, by type; other types get a `Message`. */
export interface MessagesByType {
  welcome: Welcome;
  subscribed: Subscribed;
  event: StreamEvent;
  chat: ChatPush;
  presence: Presence;
  gap: Gap;
  "checkout.accepted": CheckoutAccepted;
  referral: Referral;
  quote: QuoteReply;
  "order.history": OrderHistoryReply;
  "order.confirmed": OrderConfirmed;
  "order.failed": OrderFailed;
  "order.status": OrderStatus;
  "order.request": OrderRequestReply;
  "order.request.status": OrderRequestStatus;
  error: ErrorFrame;
  /** The client's own notices: its status changed; it gave up (a final close code); a resubscribe was refused. */
  status: { type: "status"; status: ConnectionStatus };
  closed: { type: "closed"; code: number; error: HawkerError };
  "subscribe.failed": { type: "subscribe.failed"; stream: string; error: HawkerError };
  "*": Message;
}

/** A refused command: the `error` frame's code, message and details. */
export class HawkerError extends Error {
  constructor(frame: { code: string; message: string; retry_after_ms?: number; product?: string; current_price?: number; available?: number; charges?: Charge[]; totals?: Total[] });
  /** One of PROTOCOL.md §9's codes, or "disconnected", "timeout", "unsubscribed". */
  code: string;
  retryAfterMs: number | undefined;
  product: string | undefined;
  currentPrice: number | undefined;
  available: number | undefined;
  /** `total_changed`: the cart's figures now. */
  charges: Charge[] | undefined;
  /** `total_changed`: what the cart costs now, per currency. */
  totals: Total[] | undefined;
}

export interface HawkerClientOptions {
  /** WebSocket URL; default: this page's host, path /ws. */
  url?: string;
  /** Several gateways' WebSocket URLs (a cluster's nodes), tried in turn from a random one. */
  urls?: string[];
  /** A token, or a function that returns a fresh one (called on every connect). */
  token?: string | (() => string | Promise<string>) | null;
  /** First reconnect delay in ms (default 500). */
  backoffMs?: number;
  /** Longest reconnect delay in ms (default 15000). */
  maxBackoffMs?: number;
  /** The first reconnect after losing an open connection comes at a random time within this (ms, default 3000). */
  spreadMs?: number;
  /** How long a command waits for its reply, in ms (default 15000). */
  commandTimeoutMs?: number;
}

/**
 * One connection to a gateway, kept open: reconnects with backoff and jitter, resumes
 * every subscribed stream from the last event seen, and answers each command with a
 * promise of its reply.
 */
export class HawkerClient {
  constructor(options?: HawkerClientOptions);
  urls: string[];
  token: string | (() => string | Promise<string>) | null;
  backoffMs: number;
  maxBackoffMs: number;
  spreadMs: number;
  commandTimeoutMs: number;
  status: ConnectionStatus;
  /** The last `welcome`. */
  welcome: Welcome | null;
  /** Server time minus local time, in ms. */
  clockOffsetMs: number;
  /** The gateway this client is connected (or connecting) to. */
  readonly url: string;
  /** Now on the server's clock (ms since the epoch). */
  serverNow(): number;
  /** Listens for a message type, "*" for every message, or "status"; returns a function that stops listening. */
  on<T extends keyof MessagesByType>(type: T, handler: (message: MessagesByType[T]) => void): () => void;
  on(type: string, handler: (message: Message) => void): () => void;
  /** Keeps `model` current for its stream; returns a function that stops following. */
  follow(model: StreamModel, onChange?: (event: StreamEvent | null) => void): () => void;
  /** Opens the connection; resolves with `welcome`. Reconnects by itself afterwards. */
  connect(): Promise<Welcome>;
  /** Closes for good (no reconnect). */
  close(): void;
  /** Subscribes to a stream; sent right behind `connect` when called before `welcome`. */
  subscribe(stream: string): Promise<Subscribed>;
  unsubscribe(stream: string): Promise<Message>;
  /** Sends a command (an `id` is added); resolves with its reply, rejects with a HawkerError. */
  send(command: Message): Promise<Message>;
  /** Sends `chat.send`, `question.upvote` or `intent` without an id: no reply. False when not connected. */
  fire(command: Message): boolean;
  publish(stream: string, kind: string, data?: Record<string, any>): Promise<Message>;
  chat(stream: string, text: string): Promise<Message>;
  ask(stream: string, text: string): Promise<Message>;
  upvote(stream: string, question: string): Promise<Message>;
  answer(stream: string, question: string, answer?: string): Promise<Message>;
  intent(stream: string, product: string, action: "view" | "add_to_cart" | "remove_from_cart", variant?: string): Promise<Message>;
  moderate(stream: string, action: string, fields?: Record<string, any>): Promise<Message>;
  /** Buys; resolves with `checkout.accepted`. The same idempotency key again returns the first answer. Rejects with `total_changed` (and the new figures) when the cart no longer costs `totalsSeen`. */
  checkout(stream: string, items: CheckoutItem[], options: CheckoutOptions): Promise<CheckoutAccepted>;
  /** What `items` cost delivered to `shipTo` (shipping and tax included), and which products do not ship there; rejects like `checkout` for the cart. */
  quote(stream: string, options: { shipTo: Destination; items?: QuoteItem[] }): Promise<QuoteReply>;
  /** Asks for a referral ticket for an influencer's code, or presents a kept one (`{ticket}`); with `stream`, a visit in the code's funnel. Rejects with `unknown_code`, `code_not_active`, `referral_expired` or `invalid_referral`. */
  referral(request: string | { ticket: string }, options?: { stream?: string }): Promise<Referral>;
  /** The buyer's own orders, newest first (`limit` 1-100, default 20); a full page carries `next_after`, the next page's `after`. Rejects with `forbidden` for anonymous viewers and order services. */
  orderHistory(options?: { after?: string; limit?: number }): Promise<OrderHistoryReply>;
  /** Asks the seller of a confirmed part to cancel units before they ship, or to take a return (`items` some, none: every unit left); the same `requestId` again returns the request as it stands (pass your own to retry after a timeout). Rejects with `unknown_checkout`, `request_refused`, `limit_reached` or `forbidden`. */
  orderRequest(checkoutId: string, merchant: string, options: { kind: "cancel" | "return"; items?: RequestItem[]; reason?: string; requestId?: string }): Promise<OrderRequestReply>;
  ping(): Promise<Message>;
}

/** A random idempotency key (1-64 of [A-Za-z0-9_.:-]). */
export function newKey(): string;

/** Formats minor units as a price for display. */
export function formatPrice(amount: number, currency: string): string;

/** A stream's typed state kept current on the client (PROTOCOL.md §8). */
export class StreamModel {
  constructor(stream: string);
  stream: string;
  catalog: Map<string, any>;
  pinned: string[];
  /** Sales by id, each with absolute `starts_at` / `ends_at` (server clock). */
  sales: Map<string, any>;
  info: { status: string; [field: string]: any };
  announcement: any;
  viewers: number;
  questions: Map<string, any>;
  /** Replaces everything with a state from `subscribed` (or GET /v1/streams/{id}). */
  reset(state: Record<string, any> | null): void;
  /** Applies one `event` push. */
  apply(event: { kind: string; data: any; ts: number }): void;
  /** The sale that covers `productId` now (server clock), if any. */
  activeSale(productId: string, now: number): any;
  /** What one unit costs now: the sale price, else the variant's, else the product's. */
  unitPrice(productId: string, now: number, variantId?: string): number | undefined;
}
