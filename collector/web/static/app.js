// scriptmon collector pages: instant filtering and live tiles on the fleet page, and the
// start/stop/restart buttons (.ctl) wherever they are. No framework; same origin only.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

// ---- commands ------------------------------------------------------------------------------

function commandLog() {
  let box = document.getElementById("cmdlog");
  if (box === null) {
    box = document.createElement("div");
    box.id = "cmdlog";
    box.setAttribute("aria-live", "polite");
    document.body.append(box);
  }
  return box;
}

function note(text, tone) {
  const line = document.createElement("p");
  line.textContent = text;
  if (tone) line.className = tone;
  commandLog().append(line);
  return line;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const part = (text) => encodeURIComponent(text);

async function runCommand(site, host, script, action) {
  const what = `${action} ${script} on ${host}`;
  const line = note(`${what}: sending…`);
  const base = `/api/v1/agents/${part(site)}/${part(host)}`;
  try {
    const res = await fetch(`${base}/scripts/${part(script)}/${part(action)}`, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: "{}",
    });
    const body = await res.json().catch(() => ({}));
    if (res.status !== 202) {
      line.textContent = `${what}: refused (${res.status}) ${body.error ?? ""}`;
      line.className = "bad";
      return;
    }
    line.textContent = `${what}: queued, waiting for the agent…`;
    for (let attempt = 0; attempt < 120; attempt++) {
      await sleep(500);
      const poll = await fetch(`${base}/commands/${part(body.id)}`);
      if (!poll.ok) continue;
      const { command } = await poll.json();
      if (command.state === "done") {
        const ok = command.result?.ok === true;
        line.textContent = `${what}: ${ok ? "done" : "failed"}: ${command.result?.message ?? ""}`;
        line.className = ok ? "ok" : "bad";
        return;
      }
      if (command.state === "expired") {
        line.textContent = `${what}: expired before the agent picked it up`;
        line.className = "bad";
        return;
      }
    }
    line.textContent = `${what}: no answer from the agent yet`;
  } catch (error) {
    line.textContent = `${what}: ${error}`;
    line.className = "bad";
  }
}

document.addEventListener("click", (event) => {
  const button = event.target instanceof Element
    ? event.target.closest(".ctl button[data-a]")
    : null;
  if (button === null) return;
  const box = button.closest(".ctl");
  let { site, host, script } = box.dataset;
  if (script === undefined) [site, host, script] = box.closest("[data-k]").dataset.k.split("/");
  const action = button.dataset.a;
  if (
    !globalThis.confirm(
      `${action[0].toUpperCase()}${action.slice(1)} ${script} on ${site}/${host}?`,
    )
  ) {
    return;
  }
  runCommand(site, host, script, action);
});

// ---- times that run on ------------------------------------------------------------------------

// A running script's uptime (`data-since`) and a token's time left (`data-until`) count on here:
// the server sends a workstation only when something changed, not to move these on.
const COUNT_ON_MS = 30_000;
const DURATION_UNITS = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000]];

/** A duration as the server writes it (shared/config/units.ts formatDuration): 7.4s, 3h 5m. */
function formatDuration(ms) {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) {
    const digits = ms < 10_000 ? 1 : 0;
    return `${Number((ms / 1_000).toFixed(digits))}s`;
  }
  let rest = Math.round(ms / 1_000) * 1_000;
  const parts = [];
  for (const [unit, size] of DURATION_UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
  }
  return parts.slice(0, 2).filter((part) => !part.startsWith("0")).join(" ");
}

/** The collector's clock less the browser's: the times on the page are the collector's. */
let clockSkew = 0;

function countOn(root) {
  const now = Date.now() + clockSkew;
  for (const el of root.querySelectorAll("[data-since]")) {
    const text = `up ${formatDuration(Math.max(0, now - Number(el.getAttribute("data-since"))))}`;
    if (el.textContent !== text) el.textContent = text;
  }
  for (const el of root.querySelectorAll("[data-until]")) {
    const left = Number(el.getAttribute("data-until")) - now;
    const predicted = el.getAttribute("data-predicted") === "1" ? " (predicted)" : "";
    const text = left > 0
      ? `${formatDuration(left)} left${predicted}`
      : `expired ${formatDuration(-left)} ago`;
    if (el.textContent !== text) el.textContent = text;
  }
}

// ---- fleet page ----------------------------------------------------------------------------

const fleet = document.getElementById("fleet");
const filters = document.getElementById("filters");

function currentFilter() {
  const data = new FormData(filters);
  return {
    site: String(data.get("site") ?? ""),
    state: String(data.get("state") ?? ""),
    q: String(data.get("q") ?? "").trim().toLowerCase(),
  };
}

// Tiles are read with getAttribute, not dataset: a dataset object made for a tile lives as long as
// the tile, and a burst touches thousands of them (the page's heap stays where it started).
function tileMatches(tile, online, filter) {
  if (filter.q) {
    // Within the host or within the name (nothing is kept per tile: the page's heap stays flat).
    const [, host, name] = tile.getAttribute("data-k").split("/");
    if (!name.toLowerCase().includes(filter.q) && !host.toLowerCase().includes(filter.q)) {
      return false;
    }
  }
  switch (filter.state) {
    case "":
      return true;
    case "problems":
      return !online || tile.classList.contains("bad") || tile.classList.contains("warn");
    case "unhealthy":
      return tile.getAttribute("data-h") === "unhealthy";
    case "down":
      return tile.getAttribute("data-d") === "1";
    case "offline":
      return !online;
    default:
      return tile.getAttribute("data-st") === filter.state;
  }
}

/** Hides the tiles of one workstation block that miss `filter`; returns how many are shown. */
function filterBlock(ws, filter) {
  const online = ws.getAttribute("data-on") === "1";
  const filtered = filter.state !== "" || filter.q !== "";
  let shown = 0;
  for (const tile of ws.querySelectorAll(".t")) {
    const match = tileMatches(tile, online, filter);
    // Written only when it changes: an unchanged attribute still costs a style pass.
    if (tile.hidden === match) tile.hidden = !match;
    if (match) shown++;
  }
  const hide = filtered && shown === 0;
  if (ws.hidden !== hide) ws.hidden = hide;
  return shown;
}

/** Whether anything is shown; "Nothing matches" otherwise (a query that stops at the first). */
function updateNoMatch(filter = currentFilter()) {
  const none = document.getElementById("nomatch");
  if (none === null) return;
  // Without a filter every tile shows: the answer is whether there is one.
  const shown = filter.site === "" && filter.state === "" && filter.q === ""
    ? fleet.querySelector(".t") !== null
    : fleet.querySelector(".site:not([hidden]) .ws:not([hidden]) .t:not([hidden])") !== null;
  if (none.hidden !== shown) none.hidden = shown;
}

function applyFilter() {
  const filter = currentFilter();
  for (const section of fleet.querySelectorAll(".site")) {
    section.hidden = !(filter.site === "" || section.dataset.site === filter.site);
    for (const ws of section.querySelectorAll(".ws")) filterBlock(ws, filter);
  }
  updateNoMatch(filter);
}

const TONE_OF_COUNT = {
  running: "ok",
  unhealthy: "bad",
  crashLooping: "bad",
  down: "bad",
  agentsOffline: "warn",
};

const COUNT_NAMES = ["running", "unhealthy", "crashLooping", "down", "agentsOffline", "agents"];

/** What one workstation block adds to its site's counts (the server writes them on it). */
function blockCounts(ws) {
  const [running, unhealthy, crashLooping, down] = (ws.getAttribute("data-n") ?? "0 0 0 0")
    .split(" ").map(Number);
  const agentsOffline = ws.getAttribute("data-on") === "1" ? 0 : 1;
  return { running, unhealthy, crashLooping, down, agentsOffline, agents: 1 };
}

/** Each site's counts, kept by difference: a replaced block takes its old counts off. */
const siteCounts = new Map();

function countAll() {
  siteCounts.clear();
  for (const section of fleet.querySelectorAll(".site")) {
    const totals = Object.fromEntries(COUNT_NAMES.map((name) => [name, 0]));
    for (const ws of section.querySelectorAll(".ws")) addCounts(totals, blockCounts(ws), 1);
    siteCounts.set(section.dataset.site, totals);
  }
}

function addCounts(totals, counts, sign) {
  for (const name of COUNT_NAMES) totals[name] += sign * counts[name];
}

/** Writes a site's counts on its card. */
function showCounts(site) {
  const counts = siteCounts.get(site);
  const place = document.querySelector(`.sites li[data-site="${CSS.escape(site)}"] .counts`);
  if (counts === undefined || place === null) return;
  for (const [name, value] of Object.entries(counts)) {
    const cell = place.querySelector(`[data-c="${name}"]`);
    if (cell === null) continue;
    const text = String(value);
    if (cell.textContent !== text) cell.textContent = text;
    // Zeros stay quiet; a count that is not zero takes its colour.
    const tone = TONE_OF_COUNT[name] ? (value === 0 ? "zero" : TONE_OF_COUNT[name]) : null;
    if (tone !== null && cell.className !== tone) cell.className = tone;
  }
}

/** Workstation blocks received and not drawn yet: the newest of each, drawn once a frame. */
const pending = new Map();
let drawing = false;

function queueWorkstation(key, site, html) {
  pending.set(key, { site, html });
  if (drawing) return;
  drawing = true;
  requestAnimationFrame(drawPending);
}

/** Draws the blocks that came since the last frame: work in proportion to what changed. */
function drawPending() {
  drawing = false;
  const filter = currentFilter();
  const sites = new Set();
  const template = document.createElement("template");
  for (const [key, { site, html }] of pending) {
    template.innerHTML = html; // rendered and escaped by the server
    const fresh = template.content.firstElementChild;
    if (fresh === null) continue;
    const old = fleet.querySelector(`.ws[data-ws="${CSS.escape(key)}"]`);
    const totals = siteCounts.get(site);
    if (old !== null) {
      if (totals !== undefined) addCounts(totals, blockCounts(old), -1);
      old.replaceWith(fresh);
    } else {
      const section = fleet.querySelector(`.site[data-site="${CSS.escape(site)}"]`);
      if (section === null) {
        pending.clear();
        refresh(); // a new site: the page is drawn again
        return;
      }
      section.append(fresh);
    }
    if (totals !== undefined) addCounts(totals, blockCounts(fresh), 1);
    // A block comes unfiltered: without a filter there is nothing to hide in it.
    if (filter.state !== "" || filter.q !== "") filterBlock(fresh, filter);
    countOn(fresh);
    sites.add(site);
  }
  pending.clear();
  for (const site of sites) showCounts(site);
  updateNoMatch(filter);
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const res = await fetch(location.pathname + location.search);
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const freshFleet = doc.getElementById("fleet");
    const freshSites = doc.querySelector(".sites");
    if (freshFleet) fleet.replaceChildren(...freshFleet.childNodes);
    if (freshSites) document.querySelector(".sites")?.replaceChildren(...freshSites.childNodes);
    applyFilter();
    countAll();
    countOn(fleet);
  } finally {
    refreshing = false;
  }
}

function connect() {
  const indicator = document.getElementById("live");
  const source = new EventSource(fleet.dataset.live);
  let opened = false;
  source.addEventListener("hello", () => {
    if (opened) refresh(); // changes may have been missed while disconnected
    opened = true;
    indicator.textContent = "live";
    indicator.classList.add("on");
    document.body.dataset.live = "on";
  });
  source.addEventListener("ws", (event) => {
    const { key, site, html } = JSON.parse(event.data);
    queueWorkstation(key, site, html);
  });
  source.addEventListener("reload", () => refresh());
  source.addEventListener("signedout", () => {
    source.close();
    location.assign("/login");
  });
  source.addEventListener("error", () => {
    indicator.textContent = "reconnecting…";
    indicator.classList.remove("on");
    document.body.dataset.live = "off";
  });
}

if (fleet !== null && filters !== null) {
  const update = () => {
    applyFilter();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(filters)) {
      if (value !== "") params.set(name, String(value));
    }
    const query = params.toString();
    history.replaceState(null, "", query === "" ? location.pathname : `?${query}`);
  };
  const serverNow = Number(fleet.getAttribute("data-now"));
  if (Number.isFinite(serverNow) && serverNow > 0) clockSkew = serverNow - Date.now();
  countAll();
  countOn(fleet);
  setInterval(() => countOn(fleet), COUNT_ON_MS);
  filters.addEventListener("input", update);
  filters.addEventListener("change", update);
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    update();
  });
  connect();
}

// ---- times in the viewer's time zone ---------------------------------------------------------

// The server writes UTC (`<time datetime>`); the reader sees their own clock, UTC on hover.
const LOCAL_TIME = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
for (const time of document.querySelectorAll("time[datetime]")) {
  const ms = Date.parse(time.getAttribute("datetime") ?? "");
  if (Number.isNaN(ms)) continue;
  time.title = time.textContent ?? "";
  time.textContent = LOCAL_TIME.format(ms);
}

// A time filter (`<input type="datetime-local" data-utc>`) is UTC for the server: the reader
// types and reads their own clock; the form sends UTC.
const pad = (n) => String(n).padStart(2, "0");
const localText = (d) =>
  `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${
    pad(d.getMinutes())
  }`;
for (const input of document.querySelectorAll("input[type=datetime-local][data-utc]")) {
  if (input.value !== "") {
    const utc = new Date(`${input.value}Z`);
    if (!Number.isNaN(utc.getTime())) input.value = localText(utc);
  }
  for (const zone of input.form?.querySelectorAll(".tz") ?? []) zone.textContent = "(your time)";
}
document.addEventListener("submit", (event) => {
  for (
    const input of event.target.querySelectorAll?.("input[type=datetime-local][data-utc]") ?? []
  ) {
    if (input.value === "") continue;
    const local = new Date(input.value);
    if (!Number.isNaN(local.getTime())) input.value = local.toISOString().slice(0, 16);
  }
}, true);
