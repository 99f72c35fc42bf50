// scriptmon alerts page: acknowledge and silence buttons (operators and admins). Each posts to
// the REST API with the page's CSRF token, then reloads the page to show the new state.
"use strict";

const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

async function post(url, body, method) {
  const res = await fetch(url, {
    method: method ?? "POST",
    headers: { "X-CSRF-Token": token, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${res.status}: ${answer.error ?? res.statusText}`);
  return answer;
}

function report(text, tone) {
  const box = document.getElementById("alertmsg");
  if (box === null) return;
  box.textContent = text;
  box.className = tone;
}

document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-do]") : null;
  if (button === null) return;
  const row = button.closest("[data-alert]");
  try {
    if (button.dataset.do === "ack") {
      await post(`/api/v1/alerts/${encodeURIComponent(row.dataset.alert)}/ack`, {});
    } else if (button.dataset.do === "silence") {
      const choice = row.querySelector("select[name=for]").value;
      const span = choice === "custom"
        ? globalThis.prompt("Silence for (e.g. 90m, 3h, 2d):", "2h")
        : choice;
      if (!span) return;
      const match = JSON.parse(row.dataset.match);
      await post("/api/v1/silences", {
        match,
        for: span,
        comment: `from the alerts page: ${row.dataset.title}`,
      });
    } else if (button.dataset.do === "unsilence") {
      await post(`/api/v1/silences/${encodeURIComponent(button.dataset.id)}`, {}, "DELETE");
    } else return;
    location.reload();
  } catch (error) {
    report(`${button.textContent} failed: ${error.message}`, "bad");
  }
});
