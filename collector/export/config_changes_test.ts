import assert from "node:assert/strict";
import { allRows, withSource } from "./_testing.ts";
import { CONFIG_CHANGES, configChangeRow } from "./config_changes.ts";

Deno.test("configChangeRow() gives who changed which documents, when, why and for whom", () => {
  assert.deepEqual(
    configChangeRow({
      version: 3,
      at: "2026-05-01T12:00:00.000Z",
      by: "user:ann",
      why: "back to 2",
      action: "rollback",
      changed: ["fleet", "site:BFI4"],
      rollbackTo: 2,
      rollout: "fleet",
    }),
    {
      version: 3,
      changed_at: "2026-05-01T12:00:00.000Z",
      changed_by: "user:ann",
      why: "back to 2",
      action: "rollback",
      documents: "fleet site:BFI4",
      rollback_to: 2,
      rollout: "fleet",
    },
  );
});

Deno.test("config_changes are the versions made in the window, oldest first", async () => {
  await withSource(async (source) => {
    const times = ["2026-04-30T23:59:59.999Z", "2026-05-01T00:00:00Z", "2026-05-02T08:00:00Z"];
    for (const [i, at] of times.entries()) {
      const done = await source.central.append(
        { at, by: "user:ann", why: `change ${i + 1}`, action: "edit", rollout: "site:BFI4" },
        new Map([["site:BFI4", `# ${i + 1}\n`]]),
        i,
      );
      assert.ok(done !== null);
    }
    const rows = await allRows(CONFIG_CHANGES, source, {
      since: Date.parse("2026-05-01T00:00:00Z"),
      until: Date.parse("2026-05-03T00:00:00Z"),
    });
    assert.deepEqual(rows.map((r) => [r.version, r.why, r.documents, r.rollback_to]), [
      [2, "change 2", "site:BFI4", null],
      [3, "change 3", "site:BFI4", null],
    ]);
  });
});
