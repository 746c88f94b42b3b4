// The Chorus analytics dashboard: signs in with the app's key and secret (exchanged for an app
// token at /dashboard/session), then reads the same public API any client reads.
"use strict";

const TOKEN_KEY = "chorus-analytics-token";
const $ = (id) => document.getElementById(id);

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (response.status === 401) {
    signOut();
    throw new Error("The session ended; sign in again.");
  }
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body.detail || body.title || `HTTP ${response.status}`);
  }
  return body;
}

// The browser's time zone, until the API refuses it (a zone its list lacks); then UTC.
let zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
if (/GMT[+-]/.test(zone)) zone = "UTC";

// Each load numbers itself; an answer that arrives after a newer load began is dropped.
let generation = 0;

// The last N days, from local midnight N-1 days ago to now: the charts' days and the tables'.
function range() {
  const days = Number($("range").value);
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  start.setDate(start.getDate() - (days - 1));
  return { from: start.toISOString(), to: new Date().toISOString() };
}

async function series(metric) {
  const { from, to } = range();
  const query = new URLSearchParams({ from, to, interval: "day", tz: zone });
  try {
    return (await api(`/v1/metrics/${metric}?${query}`)).points;
  } catch (error) {
    if (zone !== "UTC" && /tz/.test(error.message)) {
      zone = "UTC";
      return series(metric);
    }
    throw error;
  }
}

function current(loaded) {
  return loaded === generation;
}

function showStatus(element, state, text) {
  element.dataset.state = state;
  element.replaceChildren();
  const p = document.createElement("p");
  p.className = state === "error" ? "status error" : "status";
  p.textContent = text;
  element.append(p);
}

async function chart(elementId, metrics, loaded) {
  const element = $(elementId);
  showStatus(element, "loading", "Loading…");
  try {
    const all = await Promise.all(metrics.map((metric) => series(metric.name)));
    if (!current(loaded)) return;
    const xs = all[0].map((point) => Date.parse(point.start) / 1000);
    const columns = all.map((points) => points.map((point) => point.value));
    if (columns.every((values) => values.every((value) => value === 0))) {
      showStatus(element, "empty", "No data in this range yet.");
      return;
    }
    element.replaceChildren();
    element.dataset.state = "ready";
    const width = Math.max(element.clientWidth, 480);
    new uPlot(
      {
        width,
        height: 240,
        series: [{}, ...metrics.map((metric) => ({ label: metric.label, stroke: metric.color, width: 2 }))],
        axes: [{}, { size: 50 }],
      },
      [xs, ...columns],
      element,
    );
  } catch (error) {
    if (current(loaded)) showStatus(element, "error", error.message);
  }
}

function table(element, headings, rows) {
  const tableElement = document.createElement("table");
  const head = tableElement.createTHead().insertRow();
  headings.forEach((heading) => {
    const th = document.createElement("th");
    th.textContent = heading;
    head.append(th);
  });
  const body = tableElement.createTBody();
  rows.forEach((cells) => {
    const row = body.insertRow();
    cells.forEach((cell) => {
      const td = row.insertCell();
      td.textContent = cell;
      if (typeof cell === "number") td.className = "number";
    });
  });
  element.replaceChildren(tableElement);
  element.dataset.state = "ready";
}

async function topEntities(loaded) {
  const element = $("top-entities");
  showStatus(element, "loading", "Loading…");
  try {
    const { from, to } = range();
    const body = await api(`/v1/leaderboards/entities?${new URLSearchParams({ from, to, limit: "10" })}`);
    if (!current(loaded)) return;
    if (body.items.length === 0) {
      showStatus(element, "empty", "No entity had activity in this range.");
      return;
    }
    table(element, ["Entity", "Actions"], body.items.map((item) => [item.entity_key, item.count]));
  } catch (error) {
    if (current(loaded)) showStatus(element, "error", error.message);
  }
}

async function firings(loaded) {
  const element = $("firings");
  showStatus(element, "loading", "Loading…");
  try {
    const body = await api("/v1/alerts/firings?limit=10");
    if (!current(loaded)) return;
    if (body.items.length === 0) {
      showStatus(element, "empty", "No alert has fired.");
      return;
    }
    const rows = body.items.map((firing) => [
      new Date(firing.occurred_at).toLocaleString(),
      firing.kind,
      firing.value,
      firing.threshold,
    ]);
    table(element, ["When", "What", "Value", "Threshold"], rows);
  } catch (error) {
    if (current(loaded)) showStatus(element, "error", error.message);
  }
}

function load() {
  generation += 1;
  const loaded = generation;
  chart("actions-chart", [
    { name: "actions.likes", label: "Likes", color: "#e4572e" },
    { name: "actions.comments", label: "Comments", color: "#17bebb" },
    { name: "actions.shares", label: "Shares", color: "#ffc914" },
    { name: "actions.views", label: "Views", color: "#76b041" },
  ], loaded);
  chart("users-chart", [
    { name: "users.new", label: "New users", color: "#2e86ab" },
    { name: "users.active", label: "Active users", color: "#a23b72" },
  ], loaded);
  topEntities(loaded);
  firings(loaded);
}

function show(signedIn) {
  $("sign-in").hidden = signedIn;
  $("board").hidden = !signedIn;
  $("session").hidden = !signedIn;
  if (signedIn) load();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  show(false);
}

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("sign-in-error");
  error.hidden = true;
  const response = await fetch("/dashboard/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ api_key: $("api-key").value, api_secret: $("api-secret").value }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    error.textContent = body.detail || "Those credentials were refused.";
    error.hidden = false;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
  show(true);
});
$("sign-out").addEventListener("click", signOut);
$("range").addEventListener("change", load);
show(Boolean(token()));
