// The host studio: /studio/{stream}, with a host (or admin) token. Everything it does
// is a hawker.v1 command over the SDK; insights come from GET /v1/streams/{id}/insights.
import { HawkerClient, StreamModel, formatPrice } from "/sdk/hawker.js";
import { $, showStatus, withToken } from "/static/page.js";

const stream = decodeURIComponent(location.pathname.split("/")[2] || "demo");
const model = new StreamModel(stream);
let client = null;
let token = null;
let intents = new Map();
let checkouts = new Map();
let topQuestions = [];

withToken(start);

function start(hostToken) {
  token = hostToken;
  client = new HawkerClient({ token });
  showStatus(client, "connected");
  client.follow(model, () => render());
  client.on("presence", (push) => { if (push.stream === stream) { model.viewers = push.viewers; renderHeader(); } });
  client.on("intents.summary", (push) => {
    if (push.stream !== stream) return;
    intents = new Map((push.products || []).map((entry) => [entry.product, entry]));
    renderCounters();
  });
  client.on("questions.top", (push) => { if (push.stream === stream) { topQuestions = push.questions || []; renderQuestions(); } });
  client.on("chat", (push) => { if (push.stream === stream) renderChat(push); });
  // One round trip: the subscribe goes out together with `connect`.
  Promise.all([client.connect(), client.subscribe(stream)])
    .catch((error) => { $("status").textContent = `could not connect: ${error.message}`; });
  refreshInsights();
  setInterval(refreshInsights, 5000);
}

/** Runs a command and reports how it went. */
async function act(label, promise) {
  const result = $("action-result");
  try {
    await promise;
    result.dataset.result = "ok";
    result.textContent = `${label}: done`;
    return true;
  } catch (error) {
    result.dataset.result = "bad";
    result.textContent = `${label}: ${error.code} — ${error.message}`;
    return false;
  }
}

const publish = (kind, data) => client.publish(stream, kind, data);

// MARK: - Rendering

function render() {
  renderHeader();
  renderCatalog();
  renderSales();
  renderQuestions();
}

function renderHeader() {
  $("title").textContent = `Studio — ${model.info.title || stream} (${model.info.status})`;
  $("viewers").textContent = `${model.viewers} watching`;
}

function button(text, label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  if (label) element.setAttribute("aria-label", label);
  element.addEventListener("click", onClick);
  return element;
}

function numberInput(value, label) {
  const input = document.createElement("input");
  input.type = "number";
  input.min = "0";
  input.value = value ?? "";
  input.setAttribute("aria-label", label);
  return input;
}

/** The counters of a product row, updated in place (the host may be typing in the row). */
function counters(product) {
  const summary = intents.get(product.id);
  const counted = checkouts.get(product.id);
  return {
    interest: summary ? `${summary.actions.view.last_5_minutes} views, ${summary.actions.add_to_cart.last_5_minutes} to cart` : "—",
    checkouts: counted ? `${counted.checkouts} (${counted.units} units)` : "0",
  };
}

function renderCounters() {
  for (const product of model.catalog.values()) {
    const row = document.querySelector(`#catalog-rows tr[data-product="${CSS.escape(product.id)}"]`);
    if (!row) continue;
    const text = counters(product);
    row.querySelector(".intent-counts").textContent = text.interest;
    row.querySelector(".checkout-counts").textContent = text.checkouts;
  }
}

function renderCatalog() {
  // Keep what the host is typing across a re-render.
  const focused = document.activeElement;
  const editing = focused && focused.closest && focused.closest("#catalog-rows tr")
    ? { product: focused.closest("tr").dataset.product, label: focused.getAttribute("aria-label"), value: focused.value }
    : null;
  const rows = [...model.catalog.values()].map((product) => {
    const row = document.createElement("tr");
    row.dataset.product = product.id;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = `${product.title} (${product.id})`;

    const priceCell = document.createElement("td");
    const price = numberInput(product.price, `price of ${product.title} in cents`);
    priceCell.append(formatPrice(product.price, product.currency), " ", price,
      button("Set", `set the price of ${product.title}`, () => act("price", publish("price.changed", { product: product.id, price: Number(price.value) }))));

    const stockCell = document.createElement("td");
    if (product.stock !== undefined) {
      const stock = numberInput(product.stock, `stock of ${product.title}`);
      stockCell.append(stock, button("Set", `set the stock of ${product.title}`, () => act("stock", publish("stock.changed", { product: product.id, level: Number(stock.value) }))));
    } else {
      stockCell.textContent = "not tracked";
    }

    const text = counters(product);
    const interest = document.createElement("td");
    interest.className = "intent-counts";
    interest.textContent = text.interest;
    const checkoutCell = document.createElement("td");
    checkoutCell.className = "checkout-counts";
    checkoutCell.textContent = text.checkouts;

    const pinCell = document.createElement("td");
    const pinned = model.pinned.includes(product.id);
    pinCell.append(button(pinned ? "Unpin" : "Pin", `${pinned ? "unpin" : "pin"} ${product.title}`, () =>
      act(pinned ? "unpin" : "pin", publish(pinned ? "product.unpinned" : "product.pinned", { product: product.id }))));
    pinCell.append(" ", button("Remove", `remove ${product.title} from the catalog`, () => {
      if (confirm(`Remove ${product.title} from the catalog?`)) act("remove", publish("product.removed", { product: product.id }));
    }));
    row.append(name, priceCell, stockCell, interest, checkoutCell, pinCell);
    return row;
  });
  $("catalog-rows").replaceChildren(...rows);
  if (editing) {
    const input = document.querySelector(`#catalog-rows tr[data-product="${CSS.escape(editing.product)}"] [aria-label="${CSS.escape(editing.label || "")}"]`);
    if (input) {
      input.value = editing.value;
      input.focus();
    }
  }
  const select = $("sale-product");
  const chosen = select.value;
  select.replaceChildren(...[...model.catalog.values()].map((product) => {
    const option = document.createElement("option");
    option.value = product.id;
    option.textContent = product.title;
    return option;
  }));
  if (chosen) select.value = chosen;
}

function renderSales() {
  const now = client.serverNow();
  $("sales").replaceChildren(...[...model.sales.values()].map((sale) => {
    const item = document.createElement("li");
    const left = sale.ends_at ? Math.max(0, Math.round((sale.ends_at - now) / 1000)) : null;
    item.textContent = `${sale.title || sale.sale}: ${sale.status || "active"}${left !== null ? `, ${Math.floor(left / 60)} min left` : ""}, ${sale.sold ?? 0} sold `;
    item.append(button("End", `end the sale ${sale.sale}`, () => act("end sale", publish("sale.ended", { sale: sale.sale }))));
    return item;
  }));
}

function renderQuestions() {
  $("questions").replaceChildren(...topQuestions.map((question) => {
    const item = document.createElement("li");
    item.dataset.question = question.id;
    item.dataset.answered = String(!!question.answered);
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = String(question.askers);
    count.setAttribute("aria-label", `${question.askers} asked`);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = ` ${question.text} `;
    item.append(count, text);
    if (!question.answered) {
      item.append(button("Answer", `answer: ${question.text}`, () => {
        const answer = prompt("Answer (optional):") || undefined;
        act("answer", client.answer(stream, question.id, answer));
      }));
    }
    return item;
  }));
}

function renderChat(push) {
  const list = $("messages");
  for (const id of push.deleted || []) list.querySelector(`[data-id="${CSS.escape(id)}"]`)?.remove();
  for (const message of push.messages || []) {
    const line = document.createElement("li");
    line.dataset.id = message.id;
    const who = document.createElement("strong");
    who.textContent = message.name || message.user;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    line.append(who, text);
    if (message.role === "viewer") {
      line.append(
        button("Delete", `delete the message from ${message.user}`, () => act("delete", client.moderate(stream, "delete_message", { message: message.id }))),
        button("Timeout", `time out ${message.user} for 10 minutes`, () => act("timeout", client.moderate(stream, "timeout_user", { user: message.user, duration_ms: 600000 }))),
        button("Ban", `ban ${message.user}`, () => act("ban", client.moderate(stream, "ban_user", { user: message.user }))),
      );
    }
    list.append(line);
  }
  while (list.children.length > 200) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

/** Minor units as money in `currency`, with its own number of decimals. */
function formatMoney(minor, currency) {
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${minor} ${currency}`;
  }
}

async function refreshInsights() {
  try {
    const response = await fetch(`/v1/streams/${encodeURIComponent(stream)}/insights`, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) return;
    const insights = await response.json();
    checkouts = new Map((insights.checkouts?.by_product || []).map((entry) => [entry.product, entry]));
    const list = $("insights");
    const rows = [
      ["viewers now / peak", `${insights.viewers.current} / ${insights.viewers.peak}`],
      ["chat messages", insights.chat.messages],
      ["questions asked / answered", `${insights.questions.asked} / ${insights.questions.answered}`],
      ["orders confirmed / failed", `${insights.orders?.confirmed ?? 0} / ${insights.orders?.failed ?? 0}`],
      // Money per currency (never added across currencies), then each merchant's share.
      ...(insights.money || []).flatMap((money) => [
        [`revenue (${money.currency})`, formatMoney(money.revenue, money.currency)],
        [`average order (${money.currency})`, formatMoney(money.average_order_value, money.currency)],
        // Units merchants took back (cancelled, returned) and what they cost.
        ...(money.returned_units ? [[`returned (${money.currency})`, `${money.returned_units} · ${formatMoney(money.returned_revenue, money.currency)}`]] : []),
      ]),
      ...(insights.merchants || []).map((entry) => [`sold by ${entry.merchant}`, formatMoney(entry.revenue, entry.currency)]),
    ];
    list.replaceChildren(...rows.flatMap(([name, value]) => {
      const term = document.createElement("dt");
      term.textContent = name;
      const detail = document.createElement("dd");
      detail.textContent = String(value);
      return [term, detail];
    }));
    renderCounters();
  } catch {
    // The next refresh tries again.
  }
}

// MARK: - Forms

$("stream-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const data = {};
  if ($("stream-name").value.trim()) data.title = $("stream-name").value.trim();
  if ($("player-url").value.trim()) data.player_url = $("player-url").value.trim();
  act("go live", publish("stream.started", data));
});
$("end-stream").addEventListener("click", () => act("end stream", publish("stream.ended", {})));
$("announce-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (await act("announcement", publish("announcement", { text: $("announcement-text").value.trim() }))) $("announcement-text").value = "";
});
$("product-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const product = {
    id: $("product-id").value.trim(), title: $("product-title").value.trim(), merchant: $("product-merchant").value.trim(),
    price: Number($("product-price").value), currency: $("product-currency").value.trim().toUpperCase(),
  };
  if ($("product-stock").value !== "") product.stock = Number($("product-stock").value);
  act("product", publish("product.upsert", { product }));
});
$("sale-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const data = {
    sale: `sale-${Date.now().toString(36)}`, title: "Flash sale",
    items: [{ product: $("sale-product").value, price: Number($("sale-price").value) }],
    duration_ms: Number($("sale-minutes").value) * 60000,
  };
  if ($("sale-limit").value) data.per_buyer_limit = Number($("sale-limit").value);
  if ($("sale-delay").value) {
    data.starts_at = client.serverNow() + Number($("sale-delay").value) * 60000;
    act("schedule sale", publish("sale.scheduled", data));
  } else {
    act("start sale", publish("sale.started", data));
  }
});
$("slow-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act("slow mode", client.moderate(stream, "slow_mode", { interval_ms: Number($("slow-seconds").value) * 1000 }));
});
$("chat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("chat-text").value.trim();
  if (text && await act("chat", client.chat(stream, text))) $("chat-text").value = "";
});
