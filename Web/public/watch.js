// The viewer page: /watch/{stream}. Renders the stream's state with the SDK's
// StreamModel; chat is rendered in batches, once per animation frame.
import { HawkerClient, StreamModel, formatPrice, newKey } from "/sdk/hawker.js";
import { $, showStatus, withToken } from "/static/page.js";

const stream = decodeURIComponent(location.pathname.split("/")[2] || "demo");
const model = new StreamModel(stream);
const socialProof = new Map();
const highestStock = new Map();
const viewed = new Set();
const myQuestions = new Map();
/** The cart: line key (product id, and "|variant" for a variant) -> quantity. */
const cart = new Map();
/** The variant a viewer picked per product. */
const picked = new Map();
let topQuestions = [];
let client = null;
/** The influencer code of the link this page was opened from (`?ref=CODE`), if any. */
const referralCode = (new URLSearchParams(location.search).get("ref") || "").trim();
/** Where the referral ticket is kept across visits: one at a time, the newest link's. */
const REFERRAL_KEY = "hawker.referral";
/** Where the buyer's destination ({country, postcode?}) is kept across visits. */
const SHIP_TO_KEY = "hawker.ship_to";
/** ISO 3166-1 alpha-2: the countries the gateway takes as a destination. */
const COUNTRIES = `AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
  CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
  GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO
  JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR
  MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
  RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV
  TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`.split(/\s+/);
/** Country names in the browser's language ("Germany" for DE). */
const regionNames = new Intl.DisplayNames(undefined, { type: "region" });
/** A burst of changes (a postcode typed, a catalog arriving in parts) asks for one quote. */
const QUOTE_DELAY_MS = 200;
/** Pushes after which what ships where, or what a cart costs, may have changed. */
const QUOTED_KINDS = new Set(["catalog.set", "product.upsert", "product.removed", "price.changed", "sale.scheduled", "sale.started", "sale.ended"]);
/** Quote failures that say nothing about the cart: asked again after the server's wait, or RETRY_MS (after the resubscribe when disconnected). */
const NO_ANSWER = new Set(["disconnected", "timeout", "unavailable"]);
/** How long to wait before asking again after no answer, when the server names no wait. */
const RETRY_MS = 2000;
/** Where orders ship, {country, postcode?}; null while the postcode typed is not one. */
let shipTo = storedShipTo();
/** The products that do not ship to `shipTo`, from the newest quote; null until it came. */
let notShipping = null;
/** What the buyer was shown a cart costs delivered ({charges, totals}), by `cartKey`. */
const shown = new Map();
/** The newest refusal of a cart's quote, {key, error}: that cart cannot be bought as it is. */
let refusal = null;
/** What #cart-quote shows, to leave the live region alone when nothing changed. */
let cartQuoteView = "";
/** Orders read at a time; reading them again takes as many as are shown, up to a page's most. */
const ORDERS_PAGE = 20;
const ORDERS_MAX_PAGE = 100;
/** The buyer's orders shown, newest first. */
let myOrders = [];
/** Where the next page of orders starts; undefined when there is none. */
let ordersNextAfter;
/** Whether orders were read once: until then the panel says they are loading. */
let ordersLoaded = false;
/** Why the orders could not be read last time, or null. */
let ordersError = null;
/** An `order.history` is out: the next waits for its answer, so that none overtakes another. */
let ordersBusy = false;
/** The orders may have changed while one was out: read again once it answers. */
let ordersStale = false;

setUpShipTo();
withToken(start);

function start(token) {
  client = new HawkerClient({ token });
  // Anonymous viewers have no orders: `order.history` refuses them.
  $("orders-button").hidden = !token;
  showStatus(client, "live");
  client.follow(model, (event) => {
    if (event?.kind === "question.answered") answered(event.data);
    render();
    // A fresh state (null: after every subscribe, reconnects too) or a catalog change.
    if (event === null || QUOTED_KINDS.has(event.kind)) {
      renderCart();
      refreshMarks();
      refreshCartQuote();
      // Order lines are titled from the catalog.
      if (!$("orders-panel").hidden) renderOrders();
    }
  });
  client.on("presence", (push) => { if (push.stream === stream) { model.viewers = push.viewers; renderViewers(); } });
  client.on("social_proof", (push) => {
    socialProof.clear();
    for (const entry of push.products || []) socialProof.set(entry.product, entry.added_last_minute);
    renderCards();
  });
  client.on("chat", (push) => { if (push.stream === stream) queueChat(push); });
  client.on("questions.top", (push) => { if (push.stream === stream) { topQuestions = push.questions || []; renderQuestions(); } });
  for (const type of ["order.confirmed", "order.failed", "order.status", "order.request.status"]) {
    client.on(type, orderResult);
    client.on(type, () => refreshOrders());
  }
  // Back after a reconnect: what the buyer's other sessions were told meanwhile is not sent here.
  client.on("welcome", () => refreshOrders());
  keepReferral(referralCode);
  // One round trip: the subscribe goes out together with `connect`.
  Promise.all([client.connect(), client.subscribe(stream)])
    .catch((error) => { $("status").textContent = `could not connect: ${error.message}`; });
  setInterval(renderCountdowns, 1000);
}

// MARK: - Rendering

function render() {
  $("title").textContent = model.info.title || `Live: ${stream}`;
  renderPlayer();
  const note = $("announcement");
  note.hidden = !model.announcement;
  note.textContent = model.announcement ? model.announcement.text : "";
  renderViewers();
  renderCards();
  renderQuestions();
}

function renderViewers() {
  $("viewers").textContent = `${model.viewers} watching`;
}

function renderPlayer() {
  const player = $("player");
  const url = model.info.player_url;
  if (player.dataset.url === (url || "")) return;
  player.dataset.url = url || "";
  player.replaceChildren();
  if (url && url.startsWith("https://")) {
    const frame = document.createElement("iframe");
    frame.src = url;
    frame.title = "live video";
    frame.allow = "autoplay; fullscreen";
    player.append(frame);
  } else {
    const text = document.createElement("p");
    text.className = "placeholder";
    text.textContent = model.info.status === "ended" ? "The stream has ended." : "The stream's video appears here when it is live.";
    player.append(text);
  }
}

/** Pinned products, then products on a running sale. */
function offered() {
  const now = client.serverNow();
  const ids = [...model.pinned];
  for (const id of model.catalog.keys()) if (!ids.includes(id) && model.activeSale(id, now)) ids.push(id);
  return ids.map((id) => model.catalog.get(id)).filter(Boolean);
}

function renderCards() {
  const list = $("cards");
  const now = client.serverNow();
  const products = offered();
  list.replaceChildren(...products.map((product) => card(product, now)));
  for (const product of products) {
    if (!viewed.has(product.id) && client.welcome && client.welcome.user?.sub && !client.welcome.user.sub.startsWith("anon:")) {
      viewed.add(product.id);
      client.fire({ type: "intent", stream, product: product.id, action: "view" });
    }
  }
}

function card(product, now) {
  const item = document.createElement("li");
  item.className = "card";
  item.dataset.product = product.id;
  const ships = !notShipping?.has(product.id);
  if (notShipping) item.dataset.ships = String(ships);
  if (product.image_url) {
    const image = document.createElement("img");
    image.src = product.image_url;
    image.alt = product.title;
    item.append(image);
  }
  const title = document.createElement("h3");
  title.textContent = product.title;
  item.append(title);

  const sale = model.activeSale(product.id, now);
  const variant = pickedVariant(product);
  const unit = model.unitPrice(product.id, now, variant?.id);
  const price = document.createElement("p");
  price.className = "price";
  price.append(formatPrice(unit, product.currency));
  const was = sale ? product.price : product.previous_price;
  if (was !== undefined && was > unit) {
    const old = document.createElement("s");
    old.className = "old-price";
    old.textContent = formatPrice(was, product.currency);
    old.setAttribute("aria-label", `was ${formatPrice(was, product.currency)}`);
    price.append(old);
  }
  item.append(price);

  if (sale) {
    const badge = document.createElement("p");
    badge.className = "badge sale";
    badge.dataset.endsAt = sale.ends_at ?? "";
    badge.dataset.title = sale.title || "Flash sale";
    badge.textContent = countdownText(badge.dataset.title, sale.ends_at, now);
    item.append(badge);
  }
  if (variant) item.append(variantPicker(product, variant));
  // A variant with a level of its own is what the viewer buys: its stock is shown.
  const stocked = variant && variant.stock !== undefined ? variant : product;
  const soldOut = !!stocked.sold_out;
  if (stocked.stock !== undefined) {
    const key = stocked === product ? product.id : `${product.id}|${variant.id}`;
    const highest = Math.max(highestStock.get(key) || 0, stocked.stock);
    highestStock.set(key, highest);
    const bar = document.createElement("div");
    bar.className = "stock";
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-label", "stock");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", String(highest));
    bar.setAttribute("aria-valuenow", String(stocked.stock));
    const fill = document.createElement("span");
    fill.style.width = `${highest ? Math.round((stocked.stock / highest) * 100) : 0}%`;
    bar.append(fill);
    item.append(bar);
    if (stocked.sold_out || stocked.low_stock) {
      const low = document.createElement("p");
      low.className = "low";
      low.textContent = stocked.sold_out ? "Sold out" : `Only ${stocked.stock} left`;
      item.append(low);
    }
  }
  const proof = socialProof.get(product.id);
  if (proof) {
    const line = document.createElement("p");
    line.className = "proof";
    line.textContent = `${proof} added to cart in the last minute`;
    item.append(line);
  }
  if (!ships) {
    const away = document.createElement("p");
    away.className = "no-ship";
    away.textContent = `Doesn't ship to ${countryName(shipTo.country)}`;
    item.append(away);
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  const add = document.createElement("button");
  add.type = "button";
  add.className = "add";
  add.textContent = "Add to cart";
  add.disabled = soldOut || !ships;
  add.setAttribute("aria-label", `add ${product.title} to the cart`);
  add.addEventListener("click", () => addToCart(product.id, variant?.id));
  const buy = document.createElement("button");
  buy.type = "button";
  buy.className = "buy";
  buy.textContent = soldOut ? "Sold out" : `Buy — ${formatPrice(unit, product.currency)}`;
  buy.disabled = soldOut || !ships;
  // One unit, for the total quoted for exactly that line to where it ships.
  buy.addEventListener("click", () => purchase([lineKey(product.id, variant?.id)], () => 1, { quoteFirst: true }));
  actions.append(add, buy);
  item.append(actions);
  return item;
}

function countdownText(title, endsAt, now) {
  if (!endsAt) return title;
  const left = Math.max(0, Math.round((endsAt - now) / 1000));
  const minutes = Math.floor(left / 60);
  const seconds = String(left % 60).padStart(2, "0");
  return `${title} — ends in ${minutes}:${seconds}`;
}

function renderCountdowns() {
  const now = client.serverNow();
  for (const badge of document.querySelectorAll(".badge.sale")) {
    const endsAt = Number(badge.dataset.endsAt);
    badge.textContent = countdownText(badge.dataset.title, endsAt || undefined, now);
    if (endsAt && endsAt <= now) {
      renderCards();
      renderCart();
    }
  }
}

/** The variant the viewer picked, else the first one not sold out (none: the product has no variants). */
function pickedVariant(product) {
  const variants = product.variants || [];
  if (variants.length === 0) return undefined;
  return variants.find((v) => v.id === picked.get(product.id)) || variants.find((v) => !v.sold_out) || variants[0];
}

function variantPicker(product, chosen) {
  const select = document.createElement("select");
  select.className = "variant";
  select.setAttribute("aria-label", `${product.title}: variant`);
  for (const variant of product.variants) {
    const option = document.createElement("option");
    option.value = variant.id;
    option.textContent = variant.sold_out ? `${variant.title} (sold out)` : variant.title;
    option.selected = variant.id === chosen.id;
    select.append(option);
  }
  select.addEventListener("change", () => {
    picked.set(product.id, select.value);
    renderCards();
  });
  return select;
}

// MARK: - Cart and buying

const lineKey = (id, variant) => (variant === undefined ? id : `${id}|${variant}`);
const lineOf = (key) => {
  const [product, variant] = key.split("|");
  return { product, variant };
};

function addToCart(id, variant) {
  const key = lineKey(id, variant);
  cart.set(key, (cart.get(key) || 0) + 1);
  client.fire({ type: "intent", stream, product: id, action: "add_to_cart" });
  renderCart();
}

function removeFromCart(key) {
  cart.delete(key);
  client.fire({ type: "intent", stream, product: lineOf(key).product, action: "remove_from_cart" });
  renderCart();
}

/** "Tee (M)" for a variant line. */
function lineTitle(product, variantId) {
  const variant = (product.variants || []).find((v) => v.id === variantId);
  return variant ? `${product.title} (${variant.title})` : product.title;
}

/**
 * Checkout items for the lines `keys` (quantity 1 each unless `quantity` says otherwise)
 * at the prices shown now; lines whose product left the catalog are left out.
 */
function checkoutItems(keys, quantity = () => 1) {
  const now = client.serverNow();
  return keys.map((key) => ({ key, ...lineOf(key) })).filter((line) => model.catalog.has(line.product)).map((line) => {
    const item = { product: line.product, qty: quantity(line.key), price_seen: model.unitPrice(line.product, now, line.variant) };
    if (line.variant !== undefined) item.variant = line.variant;
    return item;
  });
}

const cartItems = () => checkoutItems([...cart.keys()], (key) => cart.get(key));

/** What a cart's figures are for: the destination, and each line's quantity and price. */
const cartKey = (destination, items) =>
  JSON.stringify([destination, items.map((item) => [item.product, item.variant ?? null, item.qty, item.price_seen])]);

function renderCart() {
  $("cart").hidden = cart.size === 0;
  const now = client.serverNow();
  $("cart-lines").replaceChildren(...[...cart].map(([key, qty]) => {
    const { product: id, variant } = lineOf(key);
    const product = model.catalog.get(id);
    const title = product ? lineTitle(product, variant) : id;
    const line = document.createElement("li");
    line.dataset.product = id;
    if (variant !== undefined) line.dataset.variant = variant;
    const label = document.createElement("span");
    label.textContent = `${qty} × ${title}${product ? ` — ${formatPrice(model.unitPrice(id, now, variant) * qty, product.currency)}` : ""}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `remove ${title} from the cart`);
    remove.addEventListener("click", () => removeFromCart(key));
    line.append(label, remove);
    return line;
  }));
  if (cart.size > 0) renderCartQuote();
}

/**
 * What the cart costs delivered to `shipTo`, per merchant and in all, or why it cannot be
 * bought as it is (then checkout is disabled). Without figures for it yet, asks for them.
 */
function renderCartQuote() {
  const items = cartItems();
  const key = shipTo && items.length > 0 ? cartKey(shipTo, items) : null;
  const refused = key !== null && refusal?.key === key ? refusal.error : null;
  const figures = key === null ? undefined : shown.get(key);
  $("checkout").disabled = key === null || refused !== null;
  if (key !== null && !refused && !figures) refreshCartQuote();
  const view = JSON.stringify([key, refused && [refused.code, refused.product, refused.message], figures]);
  if (view === cartQuoteView) return;
  cartQuoteView = view;
  const box = $("cart-quote");
  if (!shipTo) {
    box.replaceChildren(note("Enter a valid postcode, or none, to see what it costs delivered."));
  } else if (items.length === 0) {
    box.replaceChildren();
  } else if (refused) {
    box.replaceChildren(note(refusalText(refused), "problem"));
  } else if (figures) {
    const total = document.createElement("p");
    total.id = "cart-total";
    total.className = "cart-total";
    total.append("Total ", amounts(figures.totals));
    box.replaceChildren(...figures.charges.map(chargePart), total);
  } else {
    box.replaceChildren(note(`Working out shipping and tax to ${place(shipTo)}…`));
  }
}

/** One merchant's part of the cart: its goods, shipping and tax. */
function chargePart(charge) {
  const part = document.createElement("div");
  part.className = "charge";
  part.dataset.merchant = charge.merchant;
  part.dataset.currency = charge.currency;
  const from = document.createElement("p");
  from.className = "merchant";
  from.textContent = `From ${charge.merchant}`;
  const figures = document.createElement("dl");
  figures.className = "figures";
  const row = (label, field, amount, text) => {
    const term = document.createElement("dt");
    term.textContent = label;
    const value = document.createElement("dd");
    value.dataset.field = field;
    value.dataset.amount = String(amount);
    value.textContent = text;
    figures.append(term, value);
  };
  const price = (amount) => formatPrice(amount, charge.currency);
  row("Items", "subtotal", charge.subtotal, price(charge.subtotal));
  // Without a zone the merchant has no terms here: it charges neither.
  if (charge.zone !== undefined) {
    row(`Shipping (${charge.zone})`, "shipping", charge.shipping, charge.shipping === 0 ? "free" : price(charge.shipping));
    row("Tax", "tax", charge.tax, `${charge.tax_included ? "incl. VAT" : "+ tax"} ${price(charge.tax)}`);
  }
  part.append(from, figures);
  return part;
}

/** Amounts per currency ("€34.88 + $35.93"), each with its minor units in `data-amount`. */
function amounts(totals) {
  const span = document.createElement("span");
  totals.forEach((total, index) => {
    const amount = document.createElement("strong");
    amount.dataset.currency = total.currency;
    amount.dataset.amount = String(total.amount);
    amount.textContent = formatPrice(total.amount, total.currency);
    if (index > 0) span.append(" + ");
    span.append(amount);
  });
  return span;
}

const formatTotals = (totals) => totals.map((total) => formatPrice(total.amount, total.currency)).join(" + ");

function note(text, className) {
  const paragraph = document.createElement("p");
  if (className) paragraph.className = className;
  paragraph.textContent = text;
  return paragraph;
}

/** Why a cart's quote was refused, naming the product. */
function refusalText(error) {
  const title = model.catalog.get(error.product)?.title || error.product;
  switch (error.code) {
    case "region_not_served":
      return `${title} doesn't ship to ${place(shipTo)}: remove it, or ship elsewhere.`;
    case "unknown_product":
    case "unknown_variant":
      return `${title} is not on offer any more: remove it to buy the rest.`;
    default:
      return error.message;
  }
}

/** Keeps the figures a cart was shown with (the last few: a buyer going back and forth finds them). */
function remember(key, figures) {
  shown.delete(key);
  shown.set(key, { charges: figures.charges, totals: figures.totals });
  if (shown.size > 20) shown.delete(shown.keys().next().value);
}

$("checkout").addEventListener("click", async () => {
  if (await purchase([...cart.keys()], (id) => cart.get(id))) {
    cart.clear();
    renderCart();
  }
});

/**
 * A checkout whose answer never came (the connection dropped, or no reply in time): it
 * may have been accepted, so the same cart goes again under the same idempotency key,
 * and the gateway answers with the first answer instead of taking a second order.
 */
let unanswered = null;

/**
 * Checks out the lines `keys` (quantity 1 each unless `quantity` says otherwise) at the
 * prices shown now, to `shipTo`, for the totals shown for them; says what happened.
 * With `quoteFirst` (a card's Buy: it shows no total), lines without figures for exactly
 * them and there are quoted first, and checked out for that quote's totals; a refused
 * quote is told and nothing is checked out. Resolves true when accepted.
 */
async function purchase(keys, quantity = () => 1, { quoteFirst = false } = {}) {
  const items = checkoutItems(keys, quantity);
  const products = items.map((item) => model.catalog.get(item.product));
  const status = $("purchase");
  if (items.length === 0) return false;
  const destination = shipTo;
  const names = items.map((item, index) => lineTitle(products[index], item.variant)).join(", ");
  status.dataset.result = "";
  $("charged").hidden = true;
  if (!destination) {
    status.dataset.result = "bad";
    status.textContent = "Enter a valid postcode, or none, to buy.";
    return false;
  }
  status.textContent = `Buying ${names}…`;
  const key = cartKey(destination, items);
  // Taken before the quote's round trip, so that a second press while the first is out
  // goes under the same key: the gateway answers it with the first's answer.
  const cart = JSON.stringify(items.map(({ product, variant, qty }) => [product, variant, qty]));
  const idempotencyKey = unanswered && unanswered.cart === cart ? unanswered.key : newKey();
  unanswered = { cart, key: idempotencyKey };
  if (quoteFirst && !shown.has(key)) {
    // Nothing went out under the key yet: whatever the quote's answer, the key stays.
    const refused = await quoteLines(key, destination, items);
    if (refused) {
      status.dataset.result = "bad";
      status.textContent = NO_ANSWER.has(refused.code)
        ? `Shipping and tax to ${place(destination)} could not be worked out just now: buy again${refused.code === "disconnected" ? " once reconnected" : ""}.`
        : purchaseRefusalText(refused, model.catalog.get(refused.product) || products[0], destination);
      return false;
    }
  }
  try {
    const referral = storedReferral();
    const attribution = referral ? { stream, referral: referral.ticket } : { stream };
    // None shown (the cart's quote has not come yet): the gateway takes the lines' sum as
    // what the buyer saw, and answers `total_changed` with the figures if more is due.
    const totalsSeen = shown.get(key)?.totals;
    if (totalsSeen) status.textContent = `Buying ${names} for ${formatTotals(totalsSeen)} delivered to ${place(destination)}…`;
    let accepted;
    try {
      accepted = await client.checkout(stream, items, { shipTo: destination, totalsSeen, attribution, idempotencyKey });
    } catch (error) {
      // Refused: a new key next time. No answer: the same one.
      if (error.code !== "disconnected" && error.code !== "timeout") unanswered = null;
      throw error;
    }
    unanswered = null;
    status.dataset.checkout = accepted.checkout_id;
    refreshOrders();
    const codes = accepted.attribution?.codes || [];
    // A ticket the server no longer takes is forgotten (PROTOCOL.md 6.16, "Declined").
    const declined = accepted.attribution?.declined?.reason;
    if (declined === "referral_expired" || declined === "invalid_referral") saveReferral(null);
    const supporting = codes.length > 0 ? `, supporting ${codes.join(" and ")}` : "";
    status.textContent = `Order placed for ${names}${supporting} — waiting for the shop's confirmation…`;
    const charged = $("charged");
    charged.replaceChildren("Charged ", amounts(accepted.totals), `, shipping to ${place(accepted.ship_to || destination)}.`);
    charged.hidden = false;
    return true;
  } catch (error) {
    status.dataset.result = "bad";
    // The figures now: shown with the cart, and what the next try confirms.
    if (error.code === "total_changed" && error.totals) {
      remember(key, { charges: error.charges || [], totals: error.totals });
      renderCart();
    }
    status.textContent = purchaseRefusalText(error, model.catalog.get(error.product) || products[0], destination);
    return false;
  }
}

/** Why a checkout (or a card's quote before it) was refused, naming `product`. */
function purchaseRefusalText(error, product, destination) {
  const messages = {
    sold_out: `${product.title} is sold out.`,
    insufficient_stock: `Only ${error.available} left of ${product.title}.`,
    price_changed: `The price of ${product.title} is now ${formatPrice(error.currentPrice ?? 0, product.currency)}. Check it and buy again.`,
    total_changed: `The total is now ${formatTotals(error.totals || [])} with shipping and tax to ${place(destination)}. Check it and buy again.`,
    region_not_served: `${product.title} doesn't ship to ${place(destination)}.`,
    not_buyable: `${product.title} is not on offer any more.`,
    unknown_product: `${product.title} is not on offer any more.`,
    unknown_variant: `${product.title} is not on offer any more.`,
    currency_mismatch: `${product.title} cannot be bought just now: its price and its shop's terms disagree.`,
    limit_reached: "You have reached this sale's limit.",
    forbidden: "Sign in (with a viewer token) to buy.",
    disconnected: "Not connected: your order may not have reached the shop. Buy again once reconnected; it will not be taken twice.",
    timeout: "No answer yet: buy again; it will not be taken twice.",
  };
  return messages[error.code] || error.message;
}

/**
 * Quotes `items` to `destination` and keeps the figures under `key` (the cart shows them
 * too when it holds exactly these lines); the refusal, or null when quoted.
 */
async function quoteLines(key, destination, items) {
  try {
    remember(key, await client.quote(stream, { shipTo: destination, items }));
  } catch (error) {
    return error;
  }
  if (refusal?.key === key) refusal = null;
  renderCart();
  return null;
}

function orderResult(push) {
  const status = $("purchase");
  if (push.type === "order.confirmed") {
    status.dataset.result = "ok";
    status.textContent = `Confirmed! Order ${push.reference}.`;
  } else if (push.type === "order.failed") {
    status.dataset.result = "bad";
    status.textContent = `The order could not be completed: ${push.reason}`;
  } else if (push.type === "order.request.status") {
    const asked = push.kind === "cancel" ? "cancellation" : "return";
    status.dataset.result = push.status === "declined" || push.status === "failed" ? "bad" : "ok";
    status.textContent = `Your ${asked} request was ${push.status}${push.answer ? `: ${push.answer}` : ""}.`;
  } else {
    status.dataset.result = "ok";
    status.textContent = `Your order is ${push.status}${push.tracking ? ` (tracking ${push.tracking})` : ""}.`;
  }
}

// MARK: - My orders

const orderDate = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const ORDER_STATUS = { pending: "Waiting for the shop", confirmed: "Confirmed", partly_failed: "Partly failed", failed: "Failed" };
/** How a part's units taken back are introduced, by the merchant's status word. */
const TAKEN_BACK = { cancelled: "Cancelled", returned: "Returned" };
const PART_STATUS = { pending: "waiting for the shop", confirmed: "confirmed", failed: "could not be completed" };
const REQUEST_KIND = { cancel: "Cancellation", return: "Return" };
const REQUEST_STATUS = { pending: "sent", received: "received by the shop", accepted: "accepted", declined: "declined", failed: "could not reach the shop" };
/** A request the buyer asked for and is waiting to hear about, by part: its id (a retry sends the same) or its refusal. */
const asking = new Map();

$("orders-button").addEventListener("click", () => {
  const open = $("orders-panel").hidden;
  $("orders-panel").hidden = !open;
  $("orders-button").setAttribute("aria-expanded", String(open));
  if (open) {
    renderOrders();
    refreshOrders();
  }
});
$("orders-more").addEventListener("click", () => readOrders(true));

/** Reads the orders shown again while the panel is open (closed, they are read when it opens). */
function refreshOrders() {
  if (!$("orders-panel").hidden) readOrders(false);
}

/**
 * Reads the next page of orders (`more`), or again the orders shown: as many as are
 * shown, so that pages loaded with "Load more" stay (up to a page's most).
 */
async function readOrders(more) {
  if (ordersBusy) {
    if (!more) ordersStale = true;
    return;
  }
  ordersBusy = true;
  $("orders-more").disabled = true;
  try {
    const reply = more
      ? await client.orderHistory({ after: ordersNextAfter, limit: ORDERS_PAGE })
      : await client.orderHistory({ limit: Math.min(ORDERS_MAX_PAGE, Math.max(ORDERS_PAGE, myOrders.length)) });
    myOrders = more ? [...myOrders, ...reply.orders] : reply.orders;
    ordersNextAfter = reply.next_after;
    ordersLoaded = true;
    ordersError = null;
  } catch (error) {
    ordersError = error;
    // No answer: read again after the server's wait; when disconnected, after the next welcome.
    const retry = error.code === "timeout" ? RETRY_MS : error.code === "unavailable" ? error.retryAfterMs : undefined;
    if (!more && retry) setTimeout(refreshOrders, retry);
  } finally {
    ordersBusy = false;
  }
  renderOrders();
  if (ordersStale) {
    ordersStale = false;
    refreshOrders();
  }
}

function renderOrders() {
  const text = ordersError ? ordersErrorText(ordersError)
    : !ordersLoaded ? "Loading your orders…"
    : myOrders.length === 0 ? "No orders yet." : "";
  // The live region speaks only when what it says changed.
  if ($("orders-note").textContent !== text) $("orders-note").textContent = text;
  $("orders-list").replaceChildren(...myOrders.map(orderItem));
  const more = $("orders-more");
  more.hidden = !ordersNextAfter;
  more.disabled = ordersBusy;
}

function ordersErrorText(error) {
  switch (error.code) {
    case "forbidden":
      return "Sign in (with a viewer token) to see your orders.";
    case "disconnected":
      return "Not connected: your orders show once reconnected.";
    case "timeout":
    case "unavailable":
      return "Your orders could not be read just now.";
    default:
      return error.message;
  }
}

/** One order: when, its status and total, what was bought, and each merchant's part. */
function orderItem(order) {
  const item = document.createElement("li");
  item.className = "order";
  item.dataset.checkout = order.checkout_id;
  item.dataset.status = order.status;
  const head = document.createElement("p");
  head.className = "order-head";
  const date = document.createElement("time");
  date.dateTime = new Date(order.created_at).toISOString();
  date.textContent = orderDate.format(order.created_at);
  const status = document.createElement("span");
  status.className = "order-status";
  status.textContent = ORDER_STATUS[order.status] || order.status;
  const total = document.createElement("span");
  total.className = "order-total";
  total.append(amounts(order.totals));
  // The spaces keep the parts apart when read out; the layout spaces them itself.
  head.append(date, " ", status, " ", total);
  const parts = document.createElement("ul");
  parts.className = "plain";
  parts.append(...order.parts.map((part) => orderPart(order, part)));
  item.append(head, note(order.items.map((line) => orderLineText(order, line)).join(", "), "order-items"), parts);
  return item;
}

/** "2 × Sencha 100 g": titled from this stream's catalog while it has the product, else by its id. */
function orderLineText(order, line) {
  const product = order.stream === stream ? model.catalog.get(line.product) : undefined;
  const title = product ? lineTitle(product, line.variant) : line.variant === undefined ? line.product : `${line.product} (${line.variant})`;
  return `${line.qty} × ${title}`;
}

/**
 * A merchant's part of `order`: its outcome and order number, how its shipping stands,
 * and the units it took back when it cancelled or took a return.
 */
function orderPart(order, part) {
  const item = document.createElement("li");
  item.className = "order-part";
  item.dataset.merchant = part.merchant;
  item.dataset.status = part.status;
  const status = document.createElement("span");
  status.className = "part-status";
  status.textContent = PART_STATUS[part.status] || part.status;
  item.append(`From ${part.merchant}: `, status);
  const number = part.reference || part.fulfilment?.reference;
  if (number) {
    const reference = document.createElement("span");
    reference.className = "reference";
    reference.textContent = number;
    item.append(", order ", reference);
  }
  const fulfilment = part.fulfilment;
  if (fulfilment) {
    const line = document.createElement("p");
    line.className = "fulfilment";
    line.dataset.status = fulfilment.status;
    // The merchant's own word ("shipped"), as the purchase line shows `order.status`.
    line.append(fulfilment.status);
    if (fulfilment.tracking) line.append(" — tracking ", tracking(fulfilment.tracking));
    if (fulfilment.note) line.append(` — ${fulfilment.note}`);
    item.append(line);
    // Units the merchant took back ("cancelled", "returned"); whether they went back into stock is its business.
    const taken = Array.isArray(fulfilment.items) ? fulfilment.items : [];
    if (taken.length > 0) {
      const label = TAKEN_BACK[fulfilment.status] || "Taken back";
      const back = note(`${label}: ${taken.map((line) => orderLineText(order, line)).join(", ")}`, "taken-back");
      back.dataset.status = fulfilment.status;
      item.append(back);
    }
  }
  for (const request of part.requests || []) item.append(requestLine(order, request));
  if (part.status === "confirmed") item.append(...requestButtons(order, part));
  return item;
}

/** "Return requested: 1 × Tee — declined: worn items are not taken back". */
function requestLine(order, request) {
  const line = note(
    `${REQUEST_KIND[request.kind] || request.kind} requested: ${request.items.map((item) => orderLineText(order, item)).join(", ")}`
      + ` — ${REQUEST_STATUS[request.status] || request.status}${request.answer ? `: ${request.answer}` : ""}`,
    "order-request");
  line.dataset.status = request.status;
  line.dataset.kind = request.kind;
  return line;
}

/**
 * "Cancel order" while the gateway says a cancel may be asked (the merchant has not said
 * it shipped), else "Request a return" when a return may; none while a request of the
 * part is open. Each asks for every unit left.
 */
function requestButtons(order, part) {
  const key = `${order.checkout_id}|${part.merchant}`;
  const open = (part.requests || []).some((request) => request.status === "pending" || request.status === "received");
  // A request on its way shows itself: no error from an earlier try next to it.
  if (open && !asking.get(key)?.busy) asking.delete(key);
  const allowed = part.may_request || [];
  const waiting = asking.get(key);
  const elements = [];
  if (!open && !waiting?.busy && allowed.length > 0) {
    const kind = allowed.includes("cancel") ? "cancel" : "return";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "request-button";
    button.dataset.kind = kind;
    button.textContent = kind === "cancel" ? "Cancel order" : "Request a return";
    button.addEventListener("click", () => askMerchant(key, order.checkout_id, part.merchant, kind));
    elements.push(button);
  }
  if (waiting?.error) elements.push(note(waiting.error, "request-error"));
  return elements;
}

/** Sends the request; an unanswered one is sent again with the same id on the next click. */
async function askMerchant(key, checkoutId, merchant, kind) {
  const previous = asking.get(key);
  const requestId = previous?.kind === kind && previous.requestId ? previous.requestId : `rq-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  asking.set(key, { kind, requestId, busy: true });
  renderOrders();
  try {
    const reply = await client.orderRequest(checkoutId, merchant, { kind, requestId });
    // Shown at once (the history read again follows): no second click meanwhile.
    const part = myOrders.find((order) => order.checkout_id === checkoutId)?.parts.find((part) => part.merchant === merchant);
    if (part && !(part.requests || []).some((request) => request.request_id === reply.request_id)) {
      const { type, re, checkout_id, merchant: _, ...request } = reply;
      part.requests = [...(part.requests || []), request];
    }
    asking.delete(key);
  } catch (error) {
    // Refused for good: a new click is a new request. No answer: the same one again.
    asking.set(key, { kind, requestId: NO_ANSWER.has(error.code) ? requestId : null, busy: false, error: error.message });
  }
  refreshOrders();
  renderOrders();
}

/** A tracking number, or a link when the merchant sent a web address. */
function tracking(value) {
  const link = /^https?:\/\//i.test(value);
  const element = document.createElement(link ? "a" : "span");
  element.className = "tracking";
  element.textContent = value;
  if (link) {
    element.href = value;
    element.target = "_blank";
    element.rel = "noopener noreferrer";
  }
  return element;
}

// MARK: - Referral links

/**
 * Tells the gateway on every connection how the viewer came, for the influencer's
 * funnel (the visit, then the add-to-carts): a link's code (`?ref=CODE`) until the
 * gateway answered it (its ticket is kept, replacing an older link's), then the kept
 * ticket, on this visit's later connections and on later visits. An unknown, inactive or
 * expired one is dropped quietly.
 */
function keepReferral(code) {
  let pending = code || null;
  const present = async () => {
    const kept = storedReferral();
    const request = pending || (kept ? { ticket: kept.ticket } : null);
    if (!request) return;
    const answer = await requestReferral(request);
    if (answer === "answered") pending = null;
    // A gateway that has not read its codes yet: again after the wait it names.
    else if (typeof answer === "number") setTimeout(present, answer);
    // No answer (the connection dropped, or timed out): again after the next welcome.
  };
  client.on("welcome", present);
}

/**
 * Sends `referral` (a code, or `{ticket}`) and keeps the ticket: "answered" (taken or
 * refused), "lost" when no answer came, or the milliseconds to wait when the gateway is
 * not ready (`unavailable`).
 */
async function requestReferral(request) {
  try {
    const reply = await client.referral(request, { stream });
    saveReferral({ ticket: reply.ticket, code: reply.code, expires_at: reply.expires_at });
  } catch (error) {
    if (error.code === "disconnected" || error.code === "timeout") return "lost";
    if (error.code === "unavailable") return error.retryAfterMs || 2000;
    const kept = storedReferral();
    if (typeof request !== "string" || kept?.code === request.toUpperCase()) saveReferral(null);
    console.info(`hawker: referral ${typeof request === "string" ? `code ${request}` : "ticket"} not taken (${error.code})`);
  }
  return "answered";
}

/** The kept referral ticket, if it has not expired (an expired one is dropped). */
function storedReferral() {
  let referral = null;
  try {
    referral = JSON.parse(localStorage.getItem(REFERRAL_KEY) || "null");
  } catch {
    referral = null;
  }
  if (!referral) return null;
  const valid = typeof referral.ticket === "string" && typeof referral.code === "string" && typeof referral.expires_at === "number";
  // The expiry is on the server's clock.
  if (valid && referral.expires_at > (client ? client.serverNow() : Date.now())) return referral;
  saveReferral(null);
  return null;
}

/** Keeps `referral` ({ticket, code, expires_at}), or forgets the kept one (null). */
function saveReferral(referral) {
  try {
    if (referral) localStorage.setItem(REFERRAL_KEY, JSON.stringify(referral));
    else localStorage.removeItem(REFERRAL_KEY);
  } catch {
    // Storage unavailable (private mode, disabled): checkouts go without the ticket.
  }
}

// MARK: - Where it ships, and quotes

function setUpShipTo() {
  const select = $("ship-country");
  const names = COUNTRIES.map((code) => [code, countryName(code)]).sort((a, b) => a[1].localeCompare(b[1]));
  select.replaceChildren(...names.map(([code, name]) => new Option(name, code)));
  select.value = shipTo.country;
  $("ship-postcode").value = shipTo.postcode || "";
  select.addEventListener("change", shipToChanged);
  $("ship-postcode").addEventListener("input", shipToChanged);
  $("ship-to").addEventListener("submit", (event) => event.preventDefault());
}

/** The buyer chose another country or typed a postcode: products and cart quoted again. */
function shipToChanged() {
  const input = $("ship-postcode");
  const postcode = input.value.trim();
  const valid = postcode === "" || isPostcode(postcode);
  input.setAttribute("aria-invalid", String(!valid));
  $("ship-error").textContent = valid ? "" : "A postcode is up to 10 letters and digits (spaces and dashes aside).";
  shipTo = valid ? { country: $("ship-country").value, ...(postcode ? { postcode } : {}) } : null;
  if (shipTo) saveShipTo(shipTo);
  // The marks were for the destination before: none until the new one's quote.
  notShipping = null;
  if (!client) return;
  renderCards();
  renderCart();
  refreshMarks();
}

/** What the gateway takes as a postcode: 1-10 letters and digits once spaces and dashes are removed. */
function isPostcode(text) {
  return text.length <= 16 && /^[A-Za-z0-9]{1,10}$/.test(text.replace(/[ -]/g, ""));
}

function countryName(code) {
  return regionNames.of(code) || code;
}

/** "Germany", or "Germany 10115". */
function place(destination) {
  const country = countryName(destination.country);
  return destination.postcode ? `${country} ${destination.postcode}` : country;
}

/** The destination kept from an earlier visit, else the country of the browser's language. */
function storedShipTo() {
  try {
    const kept = JSON.parse(localStorage.getItem(SHIP_TO_KEY) || "null");
    if (kept && COUNTRIES.includes(kept.country)) {
      const postcode = typeof kept.postcode === "string" && isPostcode(kept.postcode) ? kept.postcode : undefined;
      return { country: kept.country, ...(postcode ? { postcode } : {}) };
    }
  } catch {
    // Unreadable, or storage unavailable: the browser's country.
  }
  return { country: localeCountry() };
}

/** The region of the browser's language ("en-GB": GB, "de": DE) when it is a country; else DE. */
function localeCountry() {
  try {
    const region = new Intl.Locale(navigator.language).maximize().region;
    return COUNTRIES.includes(region) ? region : "DE";
  } catch {
    return "DE";
  }
}

function saveShipTo(destination) {
  try {
    localStorage.setItem(SHIP_TO_KEY, JSON.stringify(destination));
  } catch {
    // Storage unavailable (private mode, disabled): the next visit starts from the browser's country.
  }
}

/**
 * A quote asked QUOTE_DELAY_MS after the last call, so that a burst of changes asks
 * once. `ask` says then what to quote ({shipTo, items?}, or null: nothing); `apply` gets
 * that and the outcome ({reply} or a refusal {error}) unless a later quote's answer was
 * applied already: answers can overtake one another.
 */
function quoter(ask, apply) {
  let timer;
  let sent = 0;
  let applied = 0;
  const refresh = (delay = QUOTE_DELAY_MS) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const asked = ask();
      if (!asked) return;
      const round = ++sent;
      let outcome;
      try {
        outcome = { reply: await client.quote(stream, asked) };
      } catch (error) {
        if (NO_ANSWER.has(error.code)) {
          // Unless a newer quote went out; when disconnected, the resubscribe asks again.
          if (round === sent && error.code !== "disconnected") refresh(error.retryAfterMs || RETRY_MS);
          return;
        }
        outcome = { error };
      }
      if (round < applied) return;
      applied = round;
      apply(asked, outcome);
    }, delay);
  };
  return () => refresh();
}

/** Which products do not ship to the destination chosen: the cards say so. */
const refreshMarks = quoter(
  () => shipTo && { shipTo },
  (asked, { reply }) => {
    // An answer for a destination no longer chosen is dropped. A refusal leaves the cards
    // unmarked: the checkout refuses what does not ship all the same.
    if (!reply || asked.shipTo !== shipTo) return;
    notShipping = new Set(reply.not_shipping);
    renderCards();
  });

/** What the cart costs delivered there, or why it cannot be bought: the cart says so. */
const refreshCartQuote = quoter(
  () => {
    const items = cartItems();
    return shipTo && items.length > 0 ? { shipTo, items } : null;
  },
  (asked, { reply, error }) => {
    const key = cartKey(asked.shipTo, asked.items);
    if (reply) {
      remember(key, reply);
      if (refusal?.key === key) refusal = null;
    } else {
      refusal = { key, error };
    }
    renderCart();
  });

// MARK: - Chat, batched

let chatQueue = [];
let chatScheduled = false;

function queueChat(push) {
  chatQueue.push(push);
  if (chatScheduled) return;
  chatScheduled = true;
  requestAnimationFrame(flushChat);
}

function flushChat() {
  chatScheduled = false;
  const list = $("messages");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const fragment = document.createDocumentFragment();
  for (const push of chatQueue) {
    for (const id of push.deleted || []) list.querySelector(`[data-id="${CSS.escape(id)}"]`)?.remove();
    for (const message of push.messages || []) {
      const line = document.createElement("li");
      line.dataset.id = message.id;
      line.dataset.role = message.role;
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = message.name || message.user;
      line.append(who, message.text);
      fragment.append(line);
    }
  }
  chatQueue = [];
  list.append(fragment);
  while (list.children.length > 200) list.firstElementChild.remove();
  if (nearBottom) list.scrollTop = list.scrollHeight;
}

$("chat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("chat-text");
  const text = input.value.trim();
  if (!text || !client) return;
  $("chat-error").textContent = "";
  try {
    await client.chat(stream, text);
    input.value = "";
  } catch (error) {
    $("chat-error").textContent = error.code === "rate_limited" ? "Slow down a little." : error.message;
  }
});

// MARK: - Questions

$("ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("ask-text");
  const text = input.value.trim();
  if (!text || !client) return;
  try {
    const reply = await client.ask(stream, text);
    myQuestions.set(reply.question.id, reply.question);
    input.value = "";
    renderQuestions();
  } catch (error) {
    $("chat-error").textContent = error.message;
  }
});

function answered(data) {
  const mine = myQuestions.get(data.question);
  if (mine) myQuestions.set(data.question, { ...mine, answered: true, answer: data.answer });
}

function renderQuestions() {
  const byId = new Map();
  for (const question of [...model.questions.values(), ...topQuestions, ...myQuestions.values()]) {
    byId.set(question.id, { ...byId.get(question.id), ...question });
  }
  const list = $("question-list");
  list.replaceChildren(...[...byId.values()].map((question) => {
    const item = document.createElement("li");
    item.dataset.answered = String(!!question.answered);
    const text = document.createElement("p");
    text.textContent = question.text || "";
    item.append(text);
    if (question.answered) {
      const answer = document.createElement("p");
      answer.className = "answer";
      answer.textContent = question.answer ? `Answered: ${question.answer}` : "Answered live";
      item.append(answer);
    } else if (!myQuestions.has(question.id)) {
      const up = document.createElement("button");
      up.type = "button";
      up.textContent = `+1 (${question.askers + (question.upvotes || 0)})`;
      up.setAttribute("aria-label", "ask this too");
      up.addEventListener("click", () => client.upvote(stream, question.id).catch(() => {}));
      item.append(up);
    }
    return item;
  }));
}
