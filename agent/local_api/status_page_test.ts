import assert from "node:assert/strict";
import type { StatusBody } from "./status.ts";
import type { ScriptStatus } from "../supervise/state.ts";
import { check, iso, NOW, script } from "../../tests/_status_fixtures.ts";
import { renderStatusFragment, renderStatusPage, STATUS_FRAGMENT_PATH } from "./status_page.tsx";

const NONCE = "rAnd0mNonce+/=";

function statusBody(scripts: ScriptStatus[], configError: string | null = null): StatusBody {
  return {
    agent: {
      version: "0.4.0",
      pid: 4242,
      site: "BFI4",
      host: "ws-17",
      configPath: "/etc/scriptmon/config.toml",
      envName: null,
      startedAt: iso(3600),
      configError: configError === null ? null : { at: iso(60), message: configError, issues: [] },
      resources: { at: iso(2), rssBytes: 52_428_800, cpuSeconds: 12.5, disk: [] },
      checks: [],
      collector: null,
    },
    scripts,
  };
}

function realistic(): StatusBody {
  return statusBody([
    script("token_monitor", {
      state: "running",
      pid: 1234,
      startedAt: iso(90),
      uptimeMs: 90_000,
      restarts: 2,
      health: "unhealthy",
      checks: [check("heartbeat", { status: "failing", reason: "no ping for 3m" })],
      resources: {
        at: iso(2),
        rssBytes: 31_000_000,
        cpuSeconds: 4.25,
        cpuPercent: 1.5,
        processes: 2,
      },
      heartbeat: {
        lastPingAt: iso(180),
        lastStartAt: null,
        lastFailAt: null,
        lastMessage: null,
        pings: 40,
      },
      lastLines: [
        { stream: "out", line: "posted 3 rates" },
        { stream: "err", line: "Traceback (most recent call last):" },
      ],
    }),
    script("rates", {
      state: "backoff",
      restarts: 5,
      health: "healthy",
      checks: [check("memory")],
    }),
    script("cleanup", {
      state: "crash-looping",
      health: "warning",
      checks: [check("cpu", { status: "warning" })],
    }),
    script("idle", { state: "stopped" }),
    script("waiting", { state: "running", checks: [check("heartbeat", { status: "unknown" })] }),
  ]);
}

Deno.test("renderStatusPage() shows every script with its state and health classes", () => {
  const html = renderStatusPage(realistic(), { nonce: NONCE, now: NOW });
  assert.ok(html.startsWith("<!DOCTYPE html><html"));
  for (const name of ["token_monitor", "rates", "cleanup", "idle"]) {
    assert.ok(html.includes(`<span class="name">${name}</span>`), name);
  }
  assert.match(html, /class="badge state state-running tone-ok"/);
  assert.match(html, /class="badge state state-backoff tone-warn"/);
  assert.match(html, /class="badge state state-crash-looping tone-bad"/);
  assert.match(html, /class="badge state state-stopped tone-off"/);
  assert.match(html, /class="badge health health-unhealthy tone-bad"/);
  assert.match(html, /class="badge health health-warning tone-warn"/);
  assert.match(html, /class="badge health health-healthy tone-ok"/);
  // Problems first, then what runs, then what is off.
  const at = (state: string) => html.indexOf(`badge state state-${state} `);
  assert.ok(at("crash-looping") < at("backoff") && at("backoff") < at("running"));
  assert.ok(at("running") < at("stopped"));
  // Checks without a result yet (a script that does not run) say nothing: no "unknown" badge.
  assert.doesNotMatch(html, /health-unknown/);
  // A script without checks has no health to show.
  const idle = html.slice(html.indexOf('<span class="name">idle</span>'));
  assert.doesNotMatch(idle.slice(0, idle.indexOf("</h2>")), /badge health/);
});

Deno.test("renderStatusPage() shows the agent line and a script's numbers", () => {
  const html = renderStatusPage(realistic(), { nonce: NONCE, now: NOW });
  for (
    const text of [
      "agent 0.4.0",
      "site BFI4",
      "host ws-17",
      "pid 4242",
      "/etc/scriptmon/config.toml",
      "<dd>1234</dd>",
      "<dd>1m 30s</dd>",
      "<dd>31 MB</dd>",
      "<dd>1.5 %</dd>",
      "<dd>3m ago</dd>",
      "no ping for 3m",
    ]
  ) assert.ok(html.includes(text), text);
  assert.doesNotMatch(html, /key=/);
});

Deno.test("renderStatusPage() marks stderr lines of the log tail", () => {
  const html = renderStatusPage(realistic(), { nonce: NONCE, now: NOW });
  assert.ok(html.includes(
    '<span class="line err"><span class="stream">err</span>Traceback (most recent call last):</span>',
  ));
  assert.ok(html.includes('<span class="line out"><span class="stream">   </span>posted 3 rates'));
});

Deno.test("renderStatusPage() shows a banner with the config error", () => {
  const html = renderStatusPage(statusBody([], 'Invalid config at scripts.x.command: "python"'), {
    nonce: NONCE,
    now: NOW,
  });
  assert.match(html, /<div class="banner" role="alert"><strong>Config reload failed 1m ago/);
  assert.ok(html.includes("Invalid config at scripts.x.command: &quot;python&quot;"));
  const clean = renderStatusPage(statusBody([]), { nonce: NONCE, now: NOW });
  assert.ok(!clean.includes('class="banner"'));
});

Deno.test("renderStatusPage() escapes script names, log lines and the config error", () => {
  const hostile = "<img src=x onerror=alert(1)>";
  const line = "</script><script>alert(1)</script>";
  const html = renderStatusPage(
    statusBody([
      script(hostile, {
        reason: hostile,
        checks: [check(hostile, { reason: line })],
        lastLines: [{ stream: "err", line }],
      }),
    ], line),
    { nonce: NONCE, now: NOW },
  );
  assert.ok(!html.includes("<img"));
  assert.ok(!html.includes("<script>alert"));
  assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"));
  assert.ok(html.includes("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
});

Deno.test("renderStatusPage() refers to no other host and puts the nonce on every script and style", () => {
  const html = renderStatusPage(realistic(), { nonce: NONCE, now: NOW });
  assert.doesNotMatch(html, /https?:\/\//);
  assert.doesNotMatch(html, /\s(src|href)=/);
  const tags = html.match(/<(script|style)\b[^>]*>/g) ?? [];
  assert.equal(tags.length, 2);
  for (const tag of tags) assert.ok(tag.includes(` nonce="${NONCE}"`), tag);
  assert.ok(html.includes(`data-fragment="${STATUS_FRAGMENT_PATH.replace("&", "&amp;")}"`));
});

Deno.test("renderStatusPage() refuses a nonce that is not base64", () => {
  assert.throws(
    () => renderStatusPage(realistic(), { nonce: '"><script>', now: NOW }),
    { name: "RangeError", message: 'Expected a base64 CSP nonce, got "\\"><script>"' },
  );
});

Deno.test("renderStatusFragment() is the page's live part without head, style or script", () => {
  const body = realistic();
  const fragment = renderStatusFragment(body, { now: NOW });
  const page = renderStatusPage(body, { nonce: NONCE, now: NOW });
  assert.ok(page.includes(`<main id="live" data-fragment="/?fragment=1">${fragment}</main>`));
  assert.doesNotMatch(fragment, /<(html|head|style|script)\b/);
});
