/**
 * `deno task test`: starts one private PostgreSQL cluster for the whole run
 * (tests/_postgres.ts; skipped when PostgreSQL is not installed, and then its
 * tests are skipped too), runs `deno test --allow-all --parallel` with its URL
 * in `SCRIPTMON_TEST_POSTGRES_URL` and any arguments given, and stops the
 * cluster by its pid at the end. Exits with the tests' code.
 */
import { postgresMissing, startCluster } from "../tests/_postgres.ts";

const missing = postgresMissing();
let cluster: Awaited<ReturnType<typeof startCluster>> | null = null;
const env: Record<string, string> = {};
if (missing === null && !Deno.env.get("SCRIPTMON_TEST_POSTGRES_URL")) {
  cluster = await startCluster();
  env.SCRIPTMON_TEST_POSTGRES_URL = cluster.url;
} else if (missing !== null) {
  console.error(`scripts/run_tests.ts: ${missing}; the PostgreSQL tests are skipped`);
}
let code = 1;
try {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--parallel", ...Deno.args],
    env,
  }).spawn();
  code = (await child.status).code;
} finally {
  await cluster?.stop();
}
Deno.exit(code);
