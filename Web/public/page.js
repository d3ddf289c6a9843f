// What the pages share: where the token comes from, and how the connection status shows.

/** Shorthand for document.getElementById. */
export const $ = (id) => document.getElementById(id);

/**
 * Calls `start(token)` with the token from the URL fragment (`#token=...`, then removed
 * from the address bar so that it is not bookmarked or shared), or else from the
 * page's login form (an empty field gives null: anonymous, where allowed).
 * @param {(token: string | null) => void} start
 */
export function withToken(start) {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("token")) {
    history.replaceState(null, "", location.pathname + location.search);
    $("main").hidden = false;
    start(fragment.get("token"));
    return;
  }
  $("login").hidden = false;
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    $("login").hidden = true;
    $("main").hidden = false;
    start($("token").value.trim() || null);
  });
}

/**
 * Shows the client's connection status in the #status element.
 * @param {import("/sdk/hawker.js").HawkerClient} client
 * @param {string} openLabel what "open" reads as ("live", "connected")
 */
export function showStatus(client, openLabel) {
  const labels = { connecting: "connecting…", open: openLabel, reconnecting: "reconnecting…", closed: "disconnected" };
  client.on("status", ({ status }) => {
    $("status").textContent = labels[status] || status;
    $("status").dataset.state = status;
  });
  client.on("closed", ({ error }) => { $("status").textContent = `disconnected: ${error.message}`; });
}
