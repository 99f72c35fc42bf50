/** `scriptmon-collector export`: a dataset from the store to stdout or a file, the count to stderr. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openCollectorKv, Store } from "../collector/store/mod.ts";
import { collectorCli } from "./_cli.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** A collector folder whose KV holds two incidents (one 40 days old) and a day of uptime. */
async function withCollector(fn: (config: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "collector-export-" });
  try {
    const config = join(dir, "collector.toml");
    await Deno.writeTextFile(config, `[collector]\ndata_dir = "data"\n`);
    const kv = await openCollectorKv(join(dir, "data"));
    try {
      const store = new Store(kv);
      for (const [host, ago] of [["ws-01", 3_600_000], ["ws-02", 40 * 86_400_000]] as const) {
        await store.alerts.open({
          rule: "script-down",
          key: `script-down|BFI4|${host}|rates|`,
          severity: "critical",
          site: "BFI4",
          host,
          script: "rates",
          check: null,
          title: `rates is down on ${host}`,
          firedAt: iso(Date.now() - ago),
        });
      }
      await store.history.saveRollup("BFI4", "ws-01", "rates", {
        day: Date.parse("2026-05-01"),
        upMs: 86_400_000,
        downMs: 0,
        idleMs: 0,
        unknownMs: 0,
        restarts: 0,
      });
    } finally {
      kv.close();
    }
    await fn(config, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("export writes JSON lines of the last 30 days to stdout and the row count to stderr", async () => {
  await withCollector(async (config) => {
    const result = await collectorCli(config, ["export", "incidents"]);
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout.split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(rows.map((row) => [row.host, row.resolved_at]), [["ws-01", null]]);
    assert.match(result.stderr, /^Exported 1 rows of incidents from \S+Z to \S+Z$/);
  });
});

Deno.test("export --format csv -o FILE writes the file with its header; --since widens the window", async () => {
  await withCollector(async (config, dir) => {
    const file = join(dir, "uptime.csv");
    const result = await collectorCli(config, [
      "export",
      "uptime_days",
      "--format",
      "csv",
      "--since",
      "2026-04-01",
      "--until",
      "2026-06-01",
      "-o",
      file,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      `Exported 1 rows of uptime_days from 2026-04-01T00:00:00.000Z to 2026-06-01T00:00:00.000Z to ${file}`,
    );
    assert.deepEqual((await Deno.readTextFile(file)).split("\r\n"), [
      "site,host,script,day,up_seconds,down_seconds,idle_seconds,unknown_seconds,uptime_ratio,restarts",
      "BFI4,ws-01,rates,2026-05-01,86400,0,0,0,1,0",
      "",
    ]);
  });
});

Deno.test("export refuses an unknown dataset, format or time (exit 2) and a file it cannot write (exit 1)", async () => {
  await withCollector(async (config, dir) => {
    const cases: [string[], RegExp][] = [
      [
        ["export", "kv"],
        /^scriptmon-collector: Unknown dataset "kv": expected one of uptime_days, incidents, notifications, config_changes$/,
      ],
      [
        ["export", "incidents", "--format", "xml"],
        /option '--format <format>' argument 'xml' is invalid/,
      ],
      [
        ["export", "incidents", "--since", "last week"],
        /--since: expected an ISO time like "2026-05-01T12:00:00Z", got "last week"/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await collectorCli(config, args);
      assert.equal(result.code, 2, args.join(" "));
      assert.equal(result.stdout, "", args.join(" "));
      assert.match(result.stderr, message, args.join(" "));
    }
    const nowhere = join(dir, "missing", "out.jsonl");
    const unwritable = await collectorCli(config, ["export", "incidents", "-o", nowhere]);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, new RegExp(`^scriptmon-collector: Cannot write ${nowhere}: `));
  });
});
