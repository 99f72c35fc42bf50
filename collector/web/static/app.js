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

function tileMatches(tile, online, filter) {
  const [, host, name] = tile.dataset.k.split("/");
  if (
    filter.q && !name.toLowerCase().includes(filter.q) && !host.toLowerCase().includes(filter.q)
  ) {
    return false;
  }
  switch (filter.state) {
    case "":
      return true;
    case "problems":
      return !online || tile.classList.contains("bad") || tile.classList.contains("warn");
    case "unhealthy":
      return tile.dataset.h === "unhealthy";
    case "down":
      return tile.dataset.d === "1";
    case "offline":
      return !online;
    default:
      return tile.dataset.st === filter.state;
  }
}

/** Hides the tiles of one workstation block that miss `filter`; returns how many are shown. */
function filterBlock(ws, filter) {
  const online = ws.dataset.on === "1";
  const filtered = filter.state !== "" || filter.q !== "";
  let shown = 0;
  for (const tile of ws.querySelectorAll(".t")) {
    const match = tileMatches(tile, online, filter);
    tile.hidden = !match;
    if (match) shown++;
  }
  ws.hidden = filtered && shown === 0;
  return shown;
}

/** Whether anything is shown; "Nothing matches" otherwise (a query that stops at the first). */
function updateNoMatch() {
  const none = document.getElementById("nomatch");
  if (none) {
    none.hidden =
      fleet.querySelector(".site:not([hidden]) .ws:not([hidden]) .t:not([hidden])") !== null;
  }
}

function applyFilter() {
  const filter = currentFilter();
  for (const section of fleet.querySelectorAll(".site")) {
    section.hidden = !(filter.site === "" || section.dataset.site === filter.site);
    for (const ws of section.querySelectorAll(".ws")) filterBlock(ws, filter);
  }
  updateNoMatch();
}

const TONE_OF_COUNT = {
  running: "ok",
  unhealthy: "bad",
  crashLooping: "bad",
  down: "bad",
  agentsOffline: "warn",
};

function recount(site) {
  const section = fleet.querySelector(`.site[data-site="${CSS.escape(site)}"]`);
  if (section === null) return;
  const counts = {
    running: 0,
    unhealthy: 0,
    crashLooping: 0,
    down: 0,
    agentsOffline: 0,
    agents: 0,
  };
  for (const ws of section.querySelectorAll(".ws")) {
    counts.agents++;
    if (ws.dataset.on !== "1") counts.agentsOffline++;
    for (const tile of ws.querySelectorAll(".t")) {
      if (tile.dataset.st === "running") counts.running++;
      if (tile.dataset.h === "unhealthy") counts.unhealthy++;
      if (tile.dataset.st === "crash-looping") counts.crashLooping++;
      if (tile.dataset.d === "1") counts.down++;
    }
  }
  const place = document.querySelector(`.sites li[data-site="${CSS.escape(site)}"] .counts`);
  if (place === null) return;
  for (const [name, value] of Object.entries(counts)) {
    const cell = place.querySelector(`[data-c="${name}"]`);
    if (cell === null) continue;
    cell.textContent = String(value);
    // Zeros stay quiet; a count that is not zero takes its colour.
    if (TONE_OF_COUNT[name]) cell.className = value === 0 ? "zero" : TONE_OF_COUNT[name];
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
    if (old !== null) old.replaceWith(fresh);
    else {
      const section = fleet.querySelector(`.site[data-site="${CSS.escape(site)}"]`);
      if (section === null) {
        pending.clear();
        refresh(); // a new site: the page is drawn again
        return;
      }
      section.append(fresh);
    }
    filterBlock(fresh, filter);
    sites.add(site);
  }
  pending.clear();
  for (const site of sites) recount(site);
  updateNoMatch();
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
