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

withToken(start);

function start(token) {
  client = new HawkerClient({ token });
  showStatus(client, "live");
  client.follow(model, (event) => {
    if (event?.kind === "question.answered") answered(event.data);
    render();
  });
  client.on("presence", (push) => { if (push.stream === stream) { model.viewers = push.viewers; renderViewers(); } });
  client.on("social_proof", (push) => {
    socialProof.clear();
    for (const entry of push.products || []) socialProof.set(entry.product, entry.added_last_minute);
    renderCards();
  });
  client.on("chat", (push) => { if (push.stream === stream) queueChat(push); });
  client.on("questions.top", (push) => { if (push.stream === stream) { topQuestions = push.questions || []; renderQuestions(); } });
  for (const type of ["order.confirmed", "order.failed", "order.status"]) client.on(type, orderResult);
  if (referralCode) askForReferral(referralCode);
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
  const actions = document.createElement("div");
  actions.className = "actions";
  const add = document.createElement("button");
  add.type = "button";
  add.className = "add";
  add.textContent = "Add to cart";
  add.disabled = soldOut;
  add.setAttribute("aria-label", `add ${product.title} to the cart`);
  add.addEventListener("click", () => addToCart(product.id, variant?.id));
  const buy = document.createElement("button");
  buy.type = "button";
  buy.className = "buy";
  buy.textContent = soldOut ? "Sold out" : `Buy — ${formatPrice(unit, product.currency)}`;
  buy.disabled = soldOut;
  buy.addEventListener("click", () => purchase([lineKey(product.id, variant?.id)]));
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
    if (endsAt && endsAt <= now) renderCards();
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
 * prices shown now; says what happened. Resolves true when accepted.
 */
async function purchase(keys, quantity = () => 1) {
  const lines = keys.map((key) => ({ key, ...lineOf(key) })).filter((line) => model.catalog.has(line.product));
  const products = lines.map((line) => model.catalog.get(line.product));
  const status = $("purchase");
  if (lines.length === 0) return false;
  const now = client.serverNow();
  const names = lines.map((line) => lineTitle(model.catalog.get(line.product), line.variant)).join(", ");
  status.dataset.result = "";
  status.textContent = `Buying ${names}…`;
  try {
    const items = lines.map((line) => {
      const item = { product: line.product, qty: quantity(line.key), price_seen: model.unitPrice(line.product, now, line.variant) };
      if (line.variant !== undefined) item.variant = line.variant;
      return item;
    });
    const cart = JSON.stringify(items.map(({ product, variant, qty }) => [product, variant, qty]));
    const key = unanswered && unanswered.cart === cart ? unanswered.key : newKey();
    unanswered = { cart, key };
    const referral = storedReferral();
    const attribution = referral ? { stream, referral: referral.ticket } : { stream };
    let accepted;
    try {
      accepted = await client.checkout(stream, items, { region: region(), attribution, idempotencyKey: key });
    } catch (error) {
      // Refused: a new key next time. No answer: the same one.
      if (error.code !== "disconnected" && error.code !== "timeout") unanswered = null;
      throw error;
    }
    unanswered = null;
    status.dataset.checkout = accepted.checkout_id;
    const codes = accepted.attribution?.codes || [];
    // A ticket the server no longer takes is forgotten (PROTOCOL.md 6.16, "Declined").
    const declined = accepted.attribution?.declined?.reason;
    if (declined === "referral_expired" || declined === "invalid_referral") saveReferral(null);
    const supporting = codes.length > 0 ? `, supporting ${codes.join(" and ")}` : "";
    status.textContent = `Order placed for ${names}${supporting} — waiting for the shop's confirmation…`;
    return true;
  } catch (error) {
    status.dataset.result = "bad";
    const product = model.catalog.get(error.product) || products[0];
    const messages = {
      sold_out: `${product.title} is sold out.`,
      insufficient_stock: `Only ${error.available} left of ${product.title}.`,
      price_changed: `The price of ${product.title} is now ${formatPrice(error.currentPrice ?? 0, product.currency)}. Check it and buy again.`,
      not_buyable: `${product.title} is not on offer any more.`,
      limit_reached: "You have reached this sale's limit.",
      forbidden: "Sign in (with a viewer token) to buy.",
      disconnected: "Not connected: your order may not have reached the shop. Buy again once reconnected; it will not be taken twice.",
      timeout: "No answer yet: buy again; it will not be taken twice.",
    };
    status.textContent = messages[error.code] || error.message;
    return false;
  }
}

function orderResult(push) {
  const status = $("purchase");
  if (push.type === "order.confirmed") {
    status.dataset.result = "ok";
    status.textContent = `Confirmed! Order ${push.reference}.`;
  } else if (push.type === "order.failed") {
    status.dataset.result = "bad";
    status.textContent = `The order could not be completed: ${push.reason}`;
  } else {
    status.dataset.result = "ok";
    status.textContent = `Your order is ${push.status}${push.tracking ? ` (tracking ${push.tracking})` : ""}.`;
  }
}

// MARK: - Referral links

/**
 * A link with `?ref=CODE`: asks for a referral ticket once per page load (after the
 * first `welcome`; again after a later one only if no answer came) and keeps it,
 * replacing an older link's. An unknown or inactive code is dropped quietly.
 */
function askForReferral(code) {
  let asking = false;
  const off = client.on("welcome", async () => {
    if (asking) return;
    asking = true;
    // No answer (the connection dropped, or timed out): asked again after the next welcome.
    if (!(await requestReferral(code))) asking = false;
    else off();
  });
}

/**
 * Sends `referral` and keeps the ticket; false when no answer came. A gateway that has
 * not read its codes yet (`unavailable`) is asked again after the wait it names.
 */
async function requestReferral(code) {
  try {
    const reply = await client.referral(code);
    saveReferral({ ticket: reply.ticket, code: reply.code, expires_at: reply.expires_at });
  } catch (error) {
    if (error.code === "disconnected" || error.code === "timeout") return false;
    if (error.code === "unavailable") {
      // Asked again; if that gets no answer, after the next welcome.
      setTimeout(async () => { if (!(await requestReferral(code))) askForReferral(code); }, error.retryAfterMs || 2000);
      return true;
    }
    if (storedReferral()?.code === code.toUpperCase()) saveReferral(null);
    console.info(`hawker: referral code ${code} not taken (${error.code})`);
  }
  return true;
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

function region() {
  try {
    return new Intl.Locale(navigator.language).maximize().region || "DE";
  } catch {
    return "DE";
  }
}

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
