// scriptmon log viewer: loads the last lines of a script's log from its agent (through the
// collector), then follows with the cursor every 2 s while open; filters and highlights within
// the loaded lines. Every text goes in through textContent: agent text is never parsed as HTML.
"use strict";

const LINE_TIME = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hour12: false,
});

const view = document.getElementById("logview");
const MAX_LINES = 5000;
const FOLLOW_MS = 2000;

if (view !== null) {
  const src = view.dataset.src;
  const list = document.getElementById("loglines");
  const status = document.getElementById("logstatus");
  const search = document.getElementById("logsearch");
  const follow = document.getElementById("logfollow");
  const count = document.getElementById("logcount");
  const lines = document.getElementById("loglimit");
  let cursor = null;
  let timer = null;
  let busy = false;

  const say = (text, tone) => {
    status.textContent = text;
    status.className = tone ?? "";
  };

  const highlight = (node, text, query) => {
    node.replaceChildren();
    if (query === "") {
      node.textContent = text;
      return;
    }
    const lower = text.toLowerCase();
    let at = 0;
    for (let i = 0; i < 10_000; i++) {
      const hit = lower.indexOf(query, at);
      if (hit < 0) break;
      node.append(text.slice(at, hit));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(hit, hit + query.length);
      node.append(mark);
      at = hit + query.length;
    }
    node.append(text.slice(at));
  };

  const applySearch = (rows) => {
    const query = search.value.trim().toLowerCase();
    for (const row of rows ?? list.children) {
      const text = row.dataset.text;
      const match = query === "" || text.toLowerCase().includes(query);
      row.hidden = !match;
      highlight(row.querySelector(".txt"), text, match ? query : "");
    }
    const shown = list.querySelectorAll(".ln:not([hidden])").length;
    count.textContent = query === ""
      ? `${list.children.length} lines`
      : `${shown} of ${list.children.length} lines match`;
  };

  const append = (fresh) => {
    const stick = globalThis.scrollY + globalThis.innerHeight >= document.body.scrollHeight - 40;
    const rows = fresh.map((line) => {
      const row = document.createElement("div");
      row.className = `ln ${line.stream}`;
      row.dataset.text = line.text;
      const time = document.createElement("time");
      // The reader's own clock (UTC on hover), to the millisecond.
      time.textContent = line.at === null ? "" : LINE_TIME.format(new Date(line.at));
      if (line.at !== null) {
        time.dateTime = line.at;
        time.title = `${line.at.replace("T", " ").slice(0, 23)} UTC`;
      }
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = line.stream === "stdout" ? "out" : line.stream === "stderr" ? "err" : "";
      const txt = document.createElement("span");
      txt.className = "txt";
      row.append(time, tag, txt);
      return row;
    });
    list.append(...rows);
    while (list.children.length > MAX_LINES) list.firstElementChild.remove();
    applySearch(rows);
    if (stick && rows.length > 0) rows.at(-1).scrollIntoView({ block: "end" });
  };

  const load = async (initial) => {
    if (busy) return;
    busy = true;
    try {
      const query = initial || cursor === null
        ? `lines=${encodeURIComponent(lines.value)}`
        : `after=${encodeURIComponent(cursor)}`;
      const res = await fetch(`${src}?${query}`, { headers: { Accept: "application/json" } });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        say(`Could not read the log (${res.status}): ${body.error ?? res.statusText}`, "bad");
        return;
      }
      if (initial) list.replaceChildren();
      if (body.truncated) {
        append([{
          at: null,
          stream: "other",
          text: "… lines skipped: more were written than one answer holds",
        }]);
      }
      append(body.lines);
      cursor = body.cursor;
      const when = new Date().toLocaleTimeString();
      say(follow.checked ? `Following; last read ${when}` : `Loaded at ${when}`, "ok");
    } catch (error) {
      say(`Could not read the log: ${error}`, "bad");
    } finally {
      busy = false;
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    if (!follow.checked || document.hidden) return;
    timer = setTimeout(async () => {
      await load(false);
      schedule();
    }, FOLLOW_MS);
  };

  document.getElementById("logreload").addEventListener("click", async () => {
    await load(true);
    schedule();
  });
  follow.addEventListener("change", schedule);
  document.addEventListener("visibilitychange", schedule);
  search.addEventListener("input", () => applySearch());
  document.getElementById("logform").addEventListener("submit", (event) => {
    event.preventDefault();
  });
  load(true).then(schedule);
}
