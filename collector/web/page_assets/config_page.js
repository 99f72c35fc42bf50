// scriptmon central config page: check and save documents, change a webhook's URL, send it a test
// message, show a version's diff, roll a version out further or roll back to it. Each button
// calls /api/v1/config with the page's CSRF token; a change reloads the page to show it.
"use strict";

const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

async function call(url, body, method) {
  const res = await fetch(url, {
    method: method ?? "POST",
    headers: { "X-CSRF-Token": token, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = await res.json().catch(() => ({}));
  return { status: res.status, ok: res.ok, answer };
}

function report(text, tone) {
  const box = document.getElementById("configmsg");
  box.textContent = text;
  box.className = tone;
}

/** The check or save answer under a document's editor: problems with lines, then the diff. */
function showResult(form, answer, saved) {
  const out = form.querySelector(".doc-result");
  out.replaceChildren();
  const issues = answer.issues ?? [];
  if (answer.error) issues.push({ message: answer.error });
  if (issues.length > 0) {
    const list = document.createElement("ul");
    list.className = "issues";
    for (const issue of issues) {
      const item = document.createElement("li");
      const where = [issue.file, issue.line].filter((p) => p !== undefined).join(":");
      item.textContent = `${where ? `${where}: ` : ""}${
        issue.path ? `${issue.path}: ` : ""
      }${issue.message}`;
      list.append(item);
    }
    out.append(list);
  } else {
    const note = document.createElement("p");
    note.className = "ok";
    note.textContent = saved ? "Saved." : answer.diff ? "No problems. The change:" : "No change.";
    out.append(note);
  }
  if (answer.diff) {
    const pre = document.createElement("pre");
    pre.className = "diff";
    pre.textContent = answer.diff;
    out.append(pre);
  }
}

function scopeOf(form) {
  const doc = form.closest("[data-doc]").dataset.doc;
  return doc !== "" ? doc : form.elements.scope.value.trim();
}

async function onDocument(button) {
  const form = button.closest("form");
  const scope = scopeOf(form);
  const text = form.elements.text.value;
  if (button.dataset.do === "check") {
    const { answer } = await call("/api/v1/config/check", { scope, text });
    showResult(form, answer, false);
    return;
  }
  const rollout = form.elements.rollout.value.trim();
  const { status, answer } = await call(
    `/api/v1/config/documents/${encodeURIComponent(scope)}`,
    {
      text,
      why: form.elements.why.value,
      base: Number(form.dataset.base),
      ...(rollout === "" ? {} : { rollout }),
    },
    "PUT",
  );
  showResult(form, answer, status === 201);
  if (status === 201) location.reload();
}

async function onWebhook(button) {
  const row = button.closest("[data-webhook]");
  const scope = encodeURIComponent(row.dataset.scope);
  const name = encodeURIComponent(row.dataset.webhook);
  if (button.dataset.do === "test") {
    const { answer } = await call(`/api/v1/config/webhooks/${scope}/${name}/test`);
    report(
      answer.error ?? `Test message to ${row.dataset.webhook}: ${answer.ok ? "sent" : "failed"}, ` +
          `the provider answered: ${answer.answer}`,
      answer.ok ? "ok" : "bad",
    );
    return;
  }
  const url = globalThis.prompt(`New URL of webhook "${row.dataset.webhook}":`, "https://");
  if (!url) return;
  const why = globalThis.prompt("Why (for the history):", "webhook moved");
  if (!why) return;
  const { status, answer } = await call(
    `/api/v1/config/webhooks/${scope}/${name}`,
    { url, why },
    "PUT",
  );
  if (status === 201) {
    location.reload();
    return;
  }
  const issues = (answer.issues ?? []).map((i) => `${i.path}: ${i.message}`);
  report(`Not changed: ${answer.error ?? issues.join("; ")}`, "bad");
}

async function onVersion(button) {
  const version = Number(button.closest("[data-version]").dataset.version);
  if (button.dataset.do === "diff") {
    const res = await fetch(`/api/v1/config/versions/${version}`);
    const answer = await res.json();
    const pre = document.getElementById("version-diff");
    pre.hidden = false;
    pre.textContent = answer.diff || `v${version} changed nothing visible`;
    pre.scrollIntoView({ block: "nearest" });
    return;
  }
  if (button.dataset.do === "rollout") {
    const to = globalThis.prompt(
      `Roll v${version} out to (fleet, env:staging, site:FC1 or agent:FC1/ws-01):`,
      "fleet",
    );
    if (!to) return;
    const { ok, answer } = await call(`/api/v1/config/versions/${version}/rollout`, { to });
    if (ok) location.reload();
    else report(`Not rolled out: ${answer.error}`, "bad");
    return;
  }
  const why = globalThis.prompt(`Roll back to v${version}: why?`, "");
  if (!why) return;
  const { ok, answer } = await call("/api/v1/config/rollback", { to: version, why });
  if (ok) location.reload();
  else report(`Not rolled back: ${answer.error}`, "bad");
}

document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-do]") : null;
  if (button === null) return;
  try {
    if (button.closest("[data-doc]")) await onDocument(button);
    else if (button.closest("[data-webhook]")) await onWebhook(button);
    else if (button.closest("[data-version]")) await onVersion(button);
  } catch (error) {
    report(`${button.textContent} failed: ${error.message}`, "bad");
  }
});
