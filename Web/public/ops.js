// The ops dashboard: /ops, with an admin token. Polls /metrics (Prometheus text),
// GET /v1/streams (the busiest streams) and GET /v1/orders/dead-letters every 2 s;
// rates are computed from the counters' deltas.
import { $, withToken } from "/static/page.js";

let token = null;
let previous = null;

withToken(start);

function start(adminToken) {
  token = adminToken;
  refresh();
  setInterval(refresh, 2000);
}

/** Sums of each metric over its labels, from the Prometheus text format. */
function parseMetrics(text) {
  const values = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/);
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) values.set(match[1], (values.get(match[1]) || 0) + value);
  }
  return values;
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
    const now = performance.now();
    const rate = (name) => previous ? Math.max(0, (metrics.get(name) - (previous.metrics.get(name) || 0)) / ((now - previous.at) / 1000)) : 0;
    const gauges = [
      ["connections", metrics.get("hawker_connections") || 0],
      ["subscriptions", metrics.get("hawker_subscriptions") || 0],
      ["deliveries/s", Math.round(rate("hawker_deliveries_total"))],
      ["events published/s", Math.round(rate("hawker_events_published_total"))],
      ["dropped frames (total)", metrics.get("hawker_dropped_frames_total") || 0],
      ["slow-consumer closes (total)", metrics.get("hawker_slow_consumer_closes_total") || 0],
      ["checkouts/s", Math.round(rate("hawker_checkouts_total"))],
      ["outbox pending", metrics.get("hawker_outbox_pending_deliveries") || 0],
      ["dead letters", metrics.get("hawker_outbox_dead_letters") || 0],
    ];
    previous = { metrics, at: now };
    $("gauges").replaceChildren(...gauges.flatMap(([name, value]) => {
      const term = document.createElement("dt");
      term.textContent = name;
      const detail = document.createElement("dd");
      detail.textContent = String(value);
      detail.dataset.metric = name;
      return [term, detail];
    }));
    $("streams").replaceChildren(...streams.streams.map((entry) => row([entry.stream, entry.subscribers, entry.events])));
    $("dead-letters").replaceChildren(...dead.dead_letters.map((letter) => {
      const tr = row([letter.checkout_id, letter.merchant, letter.attempts, letter.last_error || ""]);
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
  }
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
  const path = `/v1/orders/dead-letters/${encodeURIComponent(letter.checkout_id)}/${encodeURIComponent(letter.merchant)}/redrive`;
  const response = await fetch(path, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  $("dead-result").textContent = response.ok ? `re-driven: ${letter.checkout_id}` : `re-drive failed: HTTP ${response.status}`;
  refresh();
}
