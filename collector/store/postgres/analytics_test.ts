/** The SQL of `migrations/0003_analytics.sql` that is not a view: the key decoder and the role. */
import assert from "node:assert/strict";
import { closePg, openPgStore, postgresSkipped, stopTestStores } from "../../../tests/_stores.ts";
import { encodeKey } from "../../../shared/kv/key_codec.ts";

const pgTest = { ignore: postgresSkipped !== null, sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "kv_key_text() gives a key's string parts and NULL for any other part",
  pgTest,
  async () => {
    const kv = await openPgStore();
    try {
      const key = encodeKey(["rollup", "Zürich", 5, "a\u0000b", true, -12n, 300n, "rates"]);
      const [row] = await kv.sql<{ parts: (string | null)[] }[]>`
      SELECT ARRAY(SELECT kv_key_text(${key}, n) FROM generate_series(1, 9) AS n ORDER BY n)
        AS parts`;
      assert.deepEqual(row.parts, [
        "rollup",
        "Zürich",
        null,
        null,
        null,
        null,
        null,
        "rates",
        null,
      ]);
      const [cut] = await kv.sql<{ part: string | null }[]>`
      SELECT kv_key_text(${encodeKey(["site"]).subarray(0, 3)}, 1) AS part`;
      assert.equal(cut.part, null, "a key cut inside a part");
    } finally {
      await closePg(kv);
    }
  },
);

Deno.test("scriptmon_analyst may read the analytics views and nothing else", pgTest, async () => {
  const kv = await openPgStore();
  try {
    const grants = await kv.sql<{ object: string; privilege: string }[]>`
      SELECT table_schema || '.' || table_name AS object, privilege_type AS privilege
      FROM information_schema.role_table_grants WHERE grantee = 'scriptmon_analyst'
      ORDER BY 1, 2`;
    assert.deepEqual(grants.map((g) => `${g.privilege} ${g.object}`), [
      "SELECT analytics.config_changes",
      "SELECT analytics.incidents",
      "SELECT analytics.notifications",
      "SELECT analytics.uptime_days",
    ]);
    const [role] = await kv.sql<{ login: boolean; usage: boolean }[]>`
      SELECT rolcanlogin AS login, has_schema_privilege('scriptmon_analyst', 'analytics', 'USAGE')
        AS usage
      FROM pg_roles WHERE rolname = 'scriptmon_analyst'`;
    assert.deepEqual(role, { login: false, usage: true });
  } finally {
    await closePg(kv);
  }
});

stopTestStores();
