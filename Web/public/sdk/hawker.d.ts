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
  totals: { currency: string; amount: number }[];
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
  "order.confirmed": OrderConfirmed;
  "order.failed": OrderFailed;
  "order.status": OrderStatus;
  error: ErrorFrame;
  /** The client's own notices: its status changed; it gave up (a final close code); a resubscribe was refused. */
  status: { type: "status"; status: ConnectionStatus };
  closed: { type: "closed"; code: number; error: HawkerError };
  "subscribe.failed": { type: "subscribe.failed"; stream: string; error: HawkerError };
  "*": Message;
}

/** A refused command: the `error` frame's code, message and details. */
export class HawkerError extends Error {
  constructor(frame: { code: string; message: string; retry_after_ms?: number; product?: string; current_price?: number; available?: number });
  /** One of PROTOCOL.md §9's codes, or "disconnected", "timeout", "unsubscribed". */
  code: string;
  retryAfterMs: number | undefined;
  product: string | undefined;
  currentPrice: number | undefined;
  available: number | undefined;
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
  /** Buys; resolves with `checkout.accepted`. The same idempotency key again returns the first answer. */
  checkout(stream: string, items: CheckoutItem[], options: { region: string; attribution?: Attribution; idempotencyKey?: string }): Promise<CheckoutAccepted>;
  /** Asks for a referral ticket for an influencer's code; rejects with `unknown_code` or `code_not_active`. */
  referral(code: string): Promise<Referral>;
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
