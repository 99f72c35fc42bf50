import assert from "node:assert/strict";
import { resolve } from "node:path";
import { ConfigError, loadConfig, parseConfig } from "./load.ts";

const EXAMPLE = new URL("../../collector.example.toml", import.meta.url).pathname;

function problems(text: string, vars: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, { path: "c.toml", vars });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((i) => `${i.line ?? "-"} ${i.path}: ${i.message}`);
  }
  assert.fail("expected a ConfigError");
}

Deno.test("collector.example.toml loads and documents the defaults", async () => {
  const config = await loadConfig(EXAMPLE, { vars: {} });
  assert.deepEqual(config.listen, { hostname: "127.0.0.1", port: 8790 });
  assert.equal(config.dataDir, resolve(EXAMPLE, "..", "collector-data"));
  assert.equal(config.offlineAfterMs, 30_000);
  assert.equal(config.retentionMs, 30 * 86_400_000);
  assert.equal(config.tls, undefined);
  assert.deepEqual(Object.keys(config.webhooks), ["fleet_ops", "fleet_chime"]);
  assert.equal(config.notify.routes.length, 2);
});

Deno.test("an empty file gives every default", () => {
  const config = parseConfig("", { path: "/etc/scriptmon/c.toml", vars: {} });
  assert.deepEqual(config.listen, { hostname: "127.0.0.1", port: 8790 });
  assert.equal(config.dataDir, "/etc/scriptmon/collector-data");
  assert.equal(config.commandTtlMs, 300_000);
  assert.equal(config.maxWaiters, 10_000);
  assert.equal(config.logLevel, "info");
  assert.deepEqual(config.webhooks, {});
});

Deno.test("tls_cert and tls_key together turn on HTTPS with absolute paths", () => {
  const config = parseConfig('[collector]\ntls_cert = "${DIR}/c.pem"\ntls_key = "k.pem"\n', {
    path: "/srv/c.toml",
    vars: { DIR: "/certs" },
  });
  assert.deepEqual(config.tls, { certFile: "/certs/c.pem", keyFile: "/srv/k.pem" });
});

Deno.test("only one of tls_cert and tls_key is an error naming the other", () => {
  assert.deepEqual(problems('[collector]\n\ntls_cert = "c.pem"\n'), [
    "3 collector.tls_cert: expected tls_key too (HTTPS needs both a certificate and a key), got only tls_cert",
  ]);
});

Deno.test("unknown keys, bad durations and addresses are reported with path and line", () => {
  assert.deepEqual(
    problems('[collector]\nlisten = "localhost"\noffline_afterr = "30s"\nretention = "soon"\n'),
    [
      '2 collector.listen: expected an address like "127.0.0.1:8790" or "[::1]:8790", got "localhost"',
      '3 collector.offline_afterr: unknown key "offline_afterr"',
      '4 collector.retention: expected a duration like "30s", "5m" or "1h30m", got "soon"',
    ],
  );
});

Deno.test("a missing ${VAR} is reported once, with its path", () => {
  assert.deepEqual(problems('[webhooks.ops]\nkind = "slack"\nurl = "${NOPE}"\n'), [
    '3 webhooks.ops.url: environment variable NOPE is not set (referenced as "${NOPE}")',
  ]);
});

Deno.test("a route naming an unknown webhook is an error", () => {
  assert.deepEqual(problems('[[notify.routes]]\nwebhooks = ["ghost"]\n'), [
    '2 notify.routes.0.webhooks.0: unknown webhook "ghost"; expected one of (none configured)',
  ]);
});

Deno.test("TOML syntax errors name the line", () => {
  assert.deepEqual(problems("[collector\n").length, 1);
  assert.match(problems("[collector\n")[0], /^1 : invalid TOML/);
});

Deno.test("a missing file is a ConfigError naming it", async () => {
  await assert.rejects(
    loadConfig("/nonexistent/c.toml"),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message ===
        '/nonexistent/c.toml: cannot read config file "/nonexistent/c.toml": not found',
  );
});

Deno.test("retention under a day, or rollups kept for less than the events, are refused", () => {
  assert.deepEqual(problems('[collector]\nretention = "12h"\n'), [
    '2 collector.retention: expected at least 2d (whole days are rolled up from it), got "12h"',
  ]);
  assert.deepEqual(problems('[collector]\nretention = "30d"\nrollup_retention = "7d"\n'), [
    '3 collector.rollup_retention: expected at least retention (30d), got "7d"',
  ]);
});

Deno.test("a file Notepad saved (BOM, CRLF) loads like the plain one and names the right line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-collector-config-" });
  try {
    const text = '[collector]\nlisten = "127.0.0.1:9000"\ndata_dir = "fc-data"\n';
    const plain = `${dir}/plain.toml`;
    const notepad = `${dir}/notepad.toml`;
    await Deno.writeTextFile(plain, text);
    await Deno.writeTextFile(notepad, `\uFEFF${text.replaceAll("\n", "\r\n")}`);
    const saved = await loadConfig(notepad, { vars: {} });
    assert.deepEqual({ ...saved, path: "" }, {
      ...(await loadConfig(plain, { vars: {} })),
      path: "",
    });
    assert.equal(saved.dataDir, resolve(dir, "fc-data"));
    await Deno.writeTextFile(notepad, '\uFEFF[collector]\r\n\r\nretention = "soon"\r\n');
    await assert.rejects(loadConfig(notepad, { vars: {} }), {
      name: "ConfigError",
      message: `${notepad}:3: collector.retention: expected a duration like "30s", "5m" or ` +
        `"1h30m", got "soon"`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a Windows path in a double-quoted string is an error saying how to write it", () => {
  assert.deepEqual(problems('[collector]\ntls_cert = "C:\\fc\\new.pem"\ntls_key = "k.pem"\n'), [
    '2 collector.tls_cert: "C:\\fc\\new.pem" holds a form feed and a newline: in a double-quoted ' +
    'string "\\f" and "\\n" are escapes, not part of a path; write \'C:\\fc\\new.pem\' (single ' +
    'quotes keep backslashes) or "C:/fc/new.pem"',
  ]);
  assert.match(
    problems('[collector]\ndata_dir = "C:\\scriptmon"\n')[0],
    /^2 collector\.data_dir: .*write 'C:\\scriptmon' /,
  );
});

Deno.test("[[reports]] are read with their defaults; a bad time or an unknown webhook is refused", async () => {
  const config = await loadConfig(EXAMPLE, { vars: {} });
  assert.deepEqual(config.reports.map((r) => [r.name, r.site, r.every, r.atMinutes, r.webhooks]), [
    ["BFI4-day", "BFI4", "day", 420, ["fleet_ops"]],
  ]);
  assert.deepEqual(problems('[[reports]]\nevery = "week"\nat = "7am"\nwebhooks = ["x"]\n'), [
    '3 reports.0.at: expected a local time like "07:00", got "7am"',
  ]);
  assert.deepEqual(problems('[[reports]]\nevery = "week"\nwebhooks = ["nowhere"]\n'), [
    '3 reports.0.webhooks.0: unknown webhook "nowhere"; expected one of (none configured)',
  ]);
});

Deno.test("two [[reports]] with one name are refused: the name keys what was sent", () => {
  const webhook =
    '[webhooks.ops]\nkind = "slack"\nurl = "https://hooks.slack.com/services/T/B/x"\n';
  const report = '[[reports]]\nsite = "BFI4"\nevery = "day"\nwebhooks = ["ops"]\n';
  assert.deepEqual(problems(webhook + report + report), [
    '8 reports.1.name: expected a name no other report has (it keys what was sent), got "BFI4-day" (the default <site>-<every>)',
  ]);
});
