// The ops dashboard: /ops, with an admin token. Polls /metrics (Prometheus text),
// GET /v1/streams (the busiest streams) and GET /v1/orders/dead-letters every 2 s;
// rates are computed from the counters' deltas and drawn over the last five minutes
// by the page itself (SVG, no library: the CSP allows only this origin). A click on a
// stream shows its own numbers from GET /v1/streams/{id}/insights.
import { $, withToken } from "/static/page.js";

const INTERVAL_MS = 2000;
/** Five minutes of points at one per poll. */
const WINDOW = 150;

/** The charts: what each shows, and how to read it from a poll. */
const CHARTS = [
  { id: "deliveries", title: "Deliveries/s", value: (p) => p.rate("hawker_deliveries_total") },
  { id: "connections", title: "Connections", value: (p) => p.now("hawker_connections") },
  { id: "events", title: "Events published/s", value: (p) => p.rate("hawker_events_published_total") },
  { id: "checkouts", title: "Checkouts/s", value: (p) => p.rate("hawker_checkouts_total") },
  { id: "outbox", title: "Outbox pending", value: (p) => p.now("hawker_outbox_pending_deliveries") },
  { id: "latency", title: "Publish to write p99 (ms)", value: (p) => p.quantileMs("hawker_publish_to_write_seconds", 0.99) },
];
const STREAM_CHARTS = [
  { id: "stream-viewers", title: "Viewers", value: (s) => s.viewers },
  { id: "stream-events", title: "Events/s", value: (s) => s.eventsPerSecond },
  { id: "stream-chat", title: "Chat messages/s", value: (s) => s.chatPerSecond },
  { id: "stream-checkouts", title: "Checkouts/s", value: (s) => s.checkoutsPerSecond },
];

let token = null;
let previous = null;
/** @type {Map<string, (number | null)[]>} points per chart, oldest first */
const series = new Map();
/** The stream clicked on, and its previous poll. */
let selected = null;

function start(adminToken) {
  token = adminToken;
  $("charts").replaceChildren(...CHARTS.map(chartFigure));
  pollLoop();
}

/** One poll at a time, every INTERVAL_MS: overlapping polls would answer out of order and make rates jump. */
async function pollLoop() {
  await refresh();
  setTimeout(pollLoop, INTERVAL_MS);
}

/**
 * The Prometheus text format: each metric summed over its labels, and histograms'
 * cumulative buckets by upper bound.
 */
function parseMetrics(text) {
  const values = new Map();
  const buckets = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/);
    if (!match) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    values.set(match[1], (values.get(match[1]) || 0) + value);
    const le = match[1].endsWith("_bucket") && match[2] && match[2].match(/le="([^"]+)"/);
    if (le) {
      const name = match[1].slice(0, -"_bucket".length);
      if (!buckets.has(name)) buckets.set(name, new Map());
      const bound = le[1] === "+Inf" ? Infinity : Number(le[1]);
      buckets.get(name).set(bound, (buckets.get(name).get(bound) || 0) + value);
    }
  }
  return { values, buckets };
}

/** Readings of one poll against the one before: gauges, rates, and quantiles of what was observed in between. */
function poll(metrics, before, seconds) {
  return {
    now: (name) => metrics.values.get(name) || 0,
    rate: (name) => before ? Math.max(0, ((metrics.values.get(name) || 0) - (before.values.get(name) || 0)) / seconds) : null,
    quantileMs: (name, q) => {
      const now = metrics.buckets.get(name);
      const then = before?.buckets.get(name);
      if (!now || !then) return null;
      const bounds = [...now.keys()].sort((a, b) => a - b);
      const total = (now.get(Infinity) || 0) - (then.get(Infinity) || 0);
      if (total <= 0) return null;
      for (const bound of bounds) {
        if ((now.get(bound) || 0) - (then.get(bound) || 0) >= q * total) return bound === Infinity ? null : bound * 1000;
      }
      return null;
    },
  };
}

function record(id, value) {
  const points = series.get(id) || [];
  points.push(value === null || value === undefined ? null : value);
  while (points.length > WINDOW) points.shift();
  series.set(id, points);
  drawChart(id);
}

async function authorized(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function refresh() {
  try {
    const [metricsText, streams, dead] = await Promise.all([
      fetch("/metrics", { headers: { Authorization: `Bearer ${token}` } }).then((r) => {
        if (!r.ok) throw new Error(`/metrics: HTTP ${r.status}`);
        return r.text();
      }),
      authorized("/v1/streams?limit=10"),
      authorized("/v1/orders/dead-letters?limit=50"),
    ]);
    const metrics = parseMetrics(metricsText);
    const at = performance.now();
    const reading = poll(metrics, previous?.metrics, previous ? (at - previous.at) / 1000 : 1);
    previous = { metrics, at };
    for (const chart of CHARTS) record(chart.id, chart.value(reading));
    const gauges = [
      ["connections", reading.now("hawker_connections")],
      ["subscriptions", reading.now("hawker_subscriptions")],
      ["deliveries/s", Math.round(reading.rate("hawker_deliveries_total") || 0)],
      ["events published/s", Math.round(reading.rate("hawker_events_published_total") || 0)],
      ["dropped frames (total)", reading.now("hawker_dropped_frames_total")],
      ["slow-consumer closes (total)", reading.now("hawker_slow_consumer_closes_total")],
      ["checkouts/s", Math.round(reading.rate("hawker_checkouts_total") || 0)],
      ["outbox pending", reading.now("hawker_outbox_pending_deliveries")],
      ["dead letters", reading.now("hawker_outbox_dead_letters")],
    ];
    $("gauges").replaceChildren(...gauges.flatMap(([name, value]) => {
      const term = document.createElement("dt");
      term.textContent = name;
      const detail = document.createElement("dd");
      detail.textContent = String(value);
      detail.dataset.metric = name;
      return [term, detail];
    }));
    $("streams").replaceChildren(...streams.streams.map((entry) => {
      const tr = row([entry.stream, entry.subscribers, entry.events]);
      tr.dataset.stream = entry.stream;
      tr.tabIndex = 0;
      tr.setAttribute("aria-selected", String(selected?.stream === entry.stream));
      tr.addEventListener("click", () => select(entry.stream));
      tr.addEventListener("keydown", (event) => { if (event.key === "Enter") select(entry.stream); });
      return tr;
    }));
    if (selected) await refreshStream(streams.streams.find((entry) => entry.stream === selected.stream), at);
    $("dead-letters").replaceChildren(...dead.dead_letters.map((letter) => {
      // A supplier's shipment names the seller it ships for.
      const to = letter.kind === "shipment" ? `${letter.merchant} (ships for ${letter.seller})` : letter.merchant;
      const tr = row([letter.checkout_id, to, letter.attempts, letter.last_error || ""]);
      const cell = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Re-drive";
      button.setAttribute("aria-label", `re-drive ${letter.checkout_id} to ${letter.merchant}`);
      button.addEventListener("click", () => redrive(letter));
      cell.append(button);
      tr.append(cell);
      return tr;
    }));
    $("status").textContent = "live";
    $("status").dataset.state = "open";
  } catch (error) {
    $("status").textContent = `error: ${error.message}`;
    $("status").dataset.state = "reconnecting";
    // A gap on every chart, so the time axis stays one poll per point; rates restart.
    for (const chart of CHARTS) record(chart.id, null);
    previous = null;
  }
}

/** Shows one stream's numbers, charted from the next poll on. */
function select(stream) {
  selected = { stream, before: null };
  for (const chart of STREAM_CHARTS) series.delete(chart.id);
  $("stream-title").textContent = `Stream ${stream}`;
  $("stream-panel").hidden = false;
  $("stream-charts").replaceChildren(...STREAM_CHARTS.map(chartFigure));
  for (const tr of document.querySelectorAll("#streams tr")) tr.setAttribute("aria-selected", String(tr.dataset.stream === stream));
  // Its numbers come with the next poll (at most INTERVAL_MS away).
}

async function refreshStream(listed, at) {
  const stream = selected.stream;
  let insights;
  try {
    insights = await authorized(`/v1/streams/${encodeURIComponent(stream)}/insights`);
  } catch (error) {
    // Gone (retired) or not answering: said in the panel, the rest of the page goes on.
    $("stream-facts").textContent = error.message;
    return;
  }
  if (selected?.stream !== stream) return;
  const checkouts = (insights.checkouts?.by_product || []).reduce((sum, entry) => sum + entry.checkouts, 0);
  const now = { at, events: listed?.events, chat: insights.chat?.messages || 0, checkouts };
  const before = selected.before;
  const seconds = before ? (at - before.at) / 1000 : 0;
  const rate = (key) => (before && seconds > 0 && now[key] !== undefined && before[key] !== undefined ? Math.max(0, (now[key] - before[key]) / seconds) : null);
  const reading = { viewers: insights.viewers?.current ?? 0, eventsPerSecond: rate("events"), chatPerSecond: rate("chat"), checkoutsPerSecond: rate("checkouts") };
  selected.before = now;
  for (const chart of STREAM_CHARTS) record(chart.id, chart.value(reading));
  const facts = [
    ["viewers now / peak", `${insights.viewers?.current ?? 0} / ${insights.viewers?.peak ?? 0}`],
    ["chat messages", insights.chat?.messages ?? 0],
    ["questions asked / answered", `${insights.questions?.asked ?? 0} / ${insights.questions?.answered ?? 0}`],
    ["checkouts", checkouts],
    ["orders confirmed / failed", `${insights.orders?.confirmed ?? 0} / ${insights.orders?.failed ?? 0}`],
  ];
  $("stream-facts").replaceChildren(...facts.flatMap(([name, value]) => {
    const term = document.createElement("dt");
    term.textContent = name;
    const detail = document.createElement("dd");
    detail.textContent = String(value);
    return [term, detail];
  }));
}

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 90;

function chartFigure(chart) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  figure.dataset.chart = chart.id;
  const caption = document.createElement("figcaption");
  const title = document.createElement("span");
  title.textContent = chart.title;
  const last = document.createElement("strong");
  last.className = "chart-last";
  last.textContent = "–";
  caption.append(title, last);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${chart.title} over the last five minutes`);
  const line = document.createElementNS(SVG, "path");
  line.setAttribute("class", "chart-line");
  const top = document.createElementNS(SVG, "text");
  top.setAttribute("class", "chart-scale");
  top.setAttribute("x", "2");
  top.setAttribute("y", "10");
  svg.append(line, top);
  figure.append(caption, svg);
  return figure;
}

/** Redraws a chart: its points scaled to the largest in the window, gaps left as gaps. */
function drawChart(id) {
  const figure = document.querySelector(`figure[data-chart="${id}"]`);
  if (!figure) return;
  const points = series.get(id) || [];
  const known = points.filter((value) => value !== null);
  const max = Math.max(1, ...known);
  const step = WIDTH / (WINDOW - 1);
  const offset = WINDOW - points.length;
  // A new segment after each gap (a poll that failed, or a rate with nothing before it).
  let path = "";
  let drawing = false;
  points.forEach((value, index) => {
    if (value === null) {
      drawing = false;
      return;
    }
    const x = (offset + index) * step;
    const y = HEIGHT - 4 - (value / max) * (HEIGHT - 16);
    path += `${drawing ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
    drawing = true;
  });
  figure.querySelector("path").setAttribute("d", path.trim());
  figure.querySelector(".chart-scale").textContent = format(max);
  const latest = known.length ? known[known.length - 1] : null;
  figure.querySelector(".chart-last").textContent = latest === null ? "–" : format(latest);
  // For tests and for screen readers: how many points, and the latest.
  figure.dataset.points = String(known.length);
  figure.dataset.last = latest === null ? "" : String(latest);
  figure.dataset.max = String(Math.max(0, ...known));
}

function format(value) {
  if (value >= 10000) return `${Math.round(value / 1000)}k`;
  if (value >= 100) return String(Math.round(value));
  return String(Math.round(value * 10) / 10);
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const value of cells) {
    const td = document.createElement("td");
    td.textContent = String(value);
    tr.append(td);
  }
  return tr;
}

async function redrive(letter) {
  const seller = letter.kind === "shipment" ? `?seller=${encodeURIComponent(letter.seller)}` : "";
  const path = `/v1/orders/dead-letters/${encodeURIComponent(letter.checkout_id)}/${encodeURIComponent(letter.merchant)}/redrive${seller}`;
  const response = await fetch(path, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  $("dead-result").textContent = response.ok ? `re-driven: ${letter.checkout_id}` : `re-drive failed: HTTP ${response.status}`;
}

// Last: everything above (constants included) is initialised before the first refresh.
withToken(start);
