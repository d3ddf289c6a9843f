// An influencer's earnings: /earnings, with the influencer's own token (its `sub` is
// whose codes are shown; any signed-in role, a host's own codes included). Polls
// GET /v1/affiliates/{sub}/earnings every 10 s and shows, per currency, what was earned
// (commission on confirmed orders) apart from what is pending and what was lost; the
// codes' checkouts and orders; the products sold; and when in the show the commission
// came in (SVG bars drawn by the page: the CSP allows no library from elsewhere).
import { $, withToken } from "/static/page.js";

const INTERVAL_MS = 10000;
/** At most this many bars per chart: longer spans are drawn in longer buckets. */
const MAX_BARS = 120;
/** At least this many slots per chart, so that a single bucket is not one wall of colour. */
const MIN_SLOTS = 10;
const STATUS_ORDER = { confirmed: 0, pending: 1, failed: 2, returned: 3 };

let token = null;
let sub = null;

function start(given) {
  token = given;
  sub = token ? subjectOf(token) : null;
  if (sub === null) {
    $("status").textContent = "error: this is not a signed-in token (no subject)";
    $("status").dataset.state = "reconnecting";
    return;
  }
  $("title").textContent = `Earnings of ${sub}`;
  document.title = `Hawker — earnings of ${sub}`;
  pollLoop();
}

/** The `sub` claim of a JWT, read from its payload (base64url JSON); null if there is none. */
function subjectOf(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = part + "=".repeat((4 - (part.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (character) => character.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims.sub === "string" && claims.sub !== "" ? claims.sub : null;
  } catch {
    return null;
  }
}

/** One poll at a time, every INTERVAL_MS. */
async function pollLoop() {
  await refresh();
  setTimeout(pollLoop, INTERVAL_MS);
}

async function refresh() {
  try {
    const response = await fetch(`/v1/affiliates/${encodeURIComponent(sub)}/earnings`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        const body = await response.json();
        if (body.error?.message) message = `${message}: ${body.error.message}`;
      } catch {
        // No JSON: the status says enough.
      }
      throw new Error(message);
    }
    render(await response.json());
    $("status").textContent = "live";
    $("status").dataset.state = "open";
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    // What was shown stays: the next poll may answer.
    $("status").textContent = `error: ${error.message}`;
    $("status").dataset.state = "reconnecting";
  }
}

// MARK: - Money

/** Digits after the decimal point of a currency's minor unit (2 for EUR, 0 for JPY). */
function fractionDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** An amount in minor units (cents) of its currency, formatted for the reader's locale. */
function money(minor, currency) {
  const digits = fractionDigits(currency);
  const major = minor / 10 ** digits;
  try {
    return new Intl.NumberFormat(undefined, {
      style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
    }).format(major);
  } catch {
    return `${major.toFixed(digits)} ${currency}`;
  }
}

const count = (value) => Number(value || 0).toLocaleString();

// MARK: - Rendering

function render(report) {
  const totals = report.totals || [];
  const codes = report.codes || [];
  const products = report.products || [];
  const timeline = report.timeline || [];
  const empty = totals.length === 0 && codes.length === 0 && products.length === 0;
  $("empty").hidden = !empty;
  for (const id of ["totals-panel", "codes-panel", "products-panel"]) $(id).hidden = empty;
  $("truncated").hidden = !report.truncated;
  renderTotals(totals);
  renderCodes(codes);
  renderProducts(products);
  const charts = renderTimeline(timeline, report.bucket_ms || 60000, report.until || Date.now());
  $("timeline-panel").hidden = empty || charts === 0;
}

function renderTotals(totals) {
  $("totals").replaceChildren(...totals.map((total) => {
    const section = document.createElement("section");
    section.className = "total";
    section.dataset.currency = total.currency;
    section.setAttribute("aria-label", `in ${total.currency}`);
    const heading = document.createElement("h3");
    heading.textContent = total.currency;
    const list = document.createElement("dl");
    list.className = "insights";
    const fields = [
      ["commission", "Earned", true],
      ["pending_commission", "Pending commission", true],
      ["failed_commission", "Failed (lost) commission", true],
      ["returned_commission", "Given back (cancelled or returned)", true],
      ["revenue", "Confirmed revenue, net of returns", true],
      ["units", "Units sold (confirmed, kept)", false],
    ];
    for (const [field, label, isMoney] of fields) {
      const term = document.createElement("dt");
      term.textContent = label;
      const detail = document.createElement("dd");
      detail.dataset.field = field;
      const value = total[field] || 0;
      if (isMoney) {
        detail.dataset.minor = String(value);
        detail.textContent = money(value, total.currency);
      } else {
        detail.dataset.value = String(value);
        detail.textContent = count(value);
      }
      if (field === "commission") detail.className = "earned";
      list.append(term, detail);
    }
    section.append(heading, list);
    return section;
  }));
}

function cell(text, field, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (field) td.dataset.field = field;
  if (className) td.className = className;
  return td;
}

function moneyCell(minor, currency, field) {
  const td = cell(money(minor || 0, currency), field, "number");
  td.dataset.minor = String(minor || 0);
  td.dataset.currency = currency;
  return td;
}

function renderCodes(codes) {
  const sorted = [...codes].sort((a, b) => a.stream.localeCompare(b.stream) || a.code.localeCompare(b.code));
  $("codes").replaceChildren(...sorted.map((entry) => {
    const tr = document.createElement("tr");
    tr.dataset.stream = entry.stream;
    tr.dataset.code = entry.code;
    tr.append(
      cell(entry.stream, "stream"),
      cell(entry.code, "code"),
      // The funnel: who came through the code, what they put in their carts, what they bought.
      cell(count(entry.visits), "visits", "number"),
      cell(count(entry.add_to_cart), "add_to_cart", "number"),
      cell(count(entry.checkouts), "checkouts", "number"),
      cell(count(entry.confirmed_orders), "confirmed_orders", "number"),
      cell(count(entry.failed_orders), "failed_orders", "number"),
    );
    return tr;
  }));
}

function renderProducts(products) {
  const sorted = [...products].sort((a, b) =>
    a.stream.localeCompare(b.stream) || a.code.localeCompare(b.code) || a.product.localeCompare(b.product)
    || (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || a.currency.localeCompare(b.currency));
  $("products").replaceChildren(...sorted.map((entry) => {
    const tr = document.createElement("tr");
    tr.dataset.stream = entry.stream;
    tr.dataset.code = entry.code;
    tr.dataset.product = entry.product;
    tr.dataset.status = entry.status;
    const status = cell(entry.status, "status", "state");
    status.dataset.status = entry.status;
    tr.append(
      cell(entry.stream, "stream"),
      cell(entry.code, "code"),
      cell(entry.product, "product"),
      status,
      cell(count(entry.units), "units", "number"),
      moneyCell(entry.revenue, entry.currency, "revenue"),
      moneyCell(entry.commission, entry.currency, "commission"),
    );
    return tr;
  }));
}

// MARK: - When in the show

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 90;

/** A time on the chart's axis: the date too when the chart spans more than a day. */
function when(ms, withDate) {
  const date = new Date(ms);
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return withDate ? `${date.toLocaleDateString()} ${time}` : time;
}

/** A bucket's length in words: "minute", "5 minutes", "hour", "day". */
function duration(ms) {
  const [unit, size] = ms % 86400000 === 0 ? ["day", 86400000] : ms % 3600000 === 0 ? ["hour", 3600000] : ["minute", 60000];
  const units = Math.round(ms / size);
  return units === 1 ? unit : `${units} ${unit}s`;
}

/** One chart per currency of confirmed and pending commission per bucket; how many were drawn. */
function renderTimeline(timeline, reportBucket, until) {
  const byCurrency = new Map();
  for (const entry of timeline) {
    if (entry.status !== "confirmed" && entry.status !== "pending") continue;
    if (!byCurrency.has(entry.currency)) byCurrency.set(entry.currency, []);
    byCurrency.get(entry.currency).push(entry);
  }
  const figures = [...byCurrency.keys()].sort().map((currency) => chart(currency, byCurrency.get(currency), reportBucket, until));
  $("timeline").replaceChildren(...figures);
  return figures.length;
}

/**
 * A currency's bars, from its first bucket to now (the report's `until`) when that is
 * within MAX_BARS buckets, else to its last; at least MIN_SLOTS wide, padded before.
 */
function chart(currency, entries, reportBucket, until) {
  const first = Math.min(...entries.map((entry) => entry.start));
  const last = Math.max(...entries.map((entry) => entry.start));
  // Buckets of the report's length, or a multiple of it when there would be too many bars.
  const spans = Math.floor((last - first) / reportBucket) + 1;
  const bucket = reportBucket * Math.max(1, Math.ceil(spans / MAX_BARS));
  const firstStart = Math.floor(first / bucket) * bucket;
  let slotCount = Math.floor((last - firstStart) / bucket) + 1;
  const toNow = Math.ceil((until - firstStart) / bucket);
  if (toNow > slotCount && toNow <= MAX_BARS) slotCount = toNow;
  const lead = Math.max(0, MIN_SLOTS - slotCount);
  slotCount += lead;
  const origin = firstStart - lead * bucket;
  /** @type {Map<number, {confirmed: number, pending: number}>} by slot */
  const slots = new Map();
  for (const entry of entries) {
    const slot = Math.floor((entry.start - origin) / bucket);
    const sums = slots.get(slot) || { confirmed: 0, pending: 0 };
    sums[entry.status] += entry.commission || 0;
    slots.set(slot, sums);
  }
  const end = origin + slotCount * bucket;
  const withDate = end - origin > 86400000;
  const highest = Math.max(0, ...[...slots.values()].map((sums) => sums.confirmed + sums.pending));
  const max = Math.max(1, highest);
  const step = WIDTH / slotCount;
  const gap = Math.min(1, step * 0.15);

  const figure = document.createElement("figure");
  figure.className = "chart";
  figure.dataset.currency = currency;
  const caption = document.createElement("figcaption");
  const title = document.createElement("span");
  title.textContent = `Commission in ${currency} per ${duration(bucket)}`;
  const top = document.createElement("strong");
  top.textContent = `highest ${money(highest, currency)}`;
  caption.append(title, top);

  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label",
    `Commission in ${currency} per ${duration(bucket)} from ${when(origin, withDate)} to ${when(end, withDate)}; the highest ${money(highest, currency)}`);
  const baseline = document.createElementNS(SVG, "path");
  baseline.setAttribute("class", "chart-axis");
  baseline.setAttribute("d", `M0,${HEIGHT - 0.5} L${WIDTH},${HEIGHT - 0.5}`);
  svg.append(baseline);
  let bars = 0;
  for (const [slot, sums] of [...slots.entries()].sort((a, b) => a[0] - b[0])) {
    const x = slot * step + gap / 2;
    let bottom = HEIGHT;
    const at = origin + slot * bucket;
    // Confirmed at the bottom, pending stacked on it.
    for (const status of ["confirmed", "pending"]) {
      const value = sums[status];
      if (value <= 0) continue;
      const height = (value / max) * (HEIGHT - 4);
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("class", `chart-bar chart-bar-${status}`);
      rect.setAttribute("x", x.toFixed(2));
      rect.setAttribute("y", (bottom - height).toFixed(2));
      rect.setAttribute("width", Math.max(0.5, step - gap).toFixed(2));
      rect.setAttribute("height", height.toFixed(2));
      rect.dataset.start = String(at);
      rect.dataset.status = status;
      rect.dataset.minor = String(value);
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = `${when(at, withDate)}: ${money(value, currency)} ${status}`;
      rect.append(tip);
      svg.append(rect);
      bottom -= height;
      bars += 1;
    }
  }
  figure.dataset.bars = String(bars);

  const axis = document.createElement("div");
  axis.className = "chart-times";
  const from = document.createElement("span");
  from.textContent = when(origin, withDate);
  const to = document.createElement("span");
  to.textContent = when(end, withDate);
  axis.append(from, to);
  figure.append(caption, svg, axis);
  return figure;
}

// Last: everything above (constants included) is initialised before the first refresh.
withToken(start);
