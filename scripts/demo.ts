/**
 * `deno task demo`: a collector and two agents of different sites on this
 * machine, with the example config (its `[env.demo]` and `[env.demo2]`
 * overlays) and the embedded KV store, all under `.demo-data/`. Ctrl-C
 * stops all three cleanly.
 */
import { join, resolve } from "node:path";
import { agentFlags, collectorFlags } from "./agent_flags.ts";

const ROOT = resolve(import.meta.dirname!, "..");
const DATA = join(ROOT, ".demo-data");
const COLLECTOR_CONFIG = join(DATA, "collector.toml");
const TOKENS = join(DATA, "demo-tokens.json");

interface Tokens {
  DEMO1: string;
  DEMO2: string;
  api: string;
  /** The web page's demo user (an operator) and its password. */
  user?: { name: string; password: string };
  /** A wall token for `/wall`. */
  wall?: string;
  /** An admin's API token (central config, runtime routes). */
  admin?: string;
}

async function run(args: string[], env: Record<string, string> = {}, stdin?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(`${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return text;
}

const collectorCli = (...args: string[]) =>
  run(["run", "--allow-all", "collector/main.ts", "--config", COLLECTOR_CONFIG, ...args]);

/** An operator for the web page, with a fresh random password. */
async function demoUser(): Promise<{ name: string; password: string }> {
  const password = Array.from(
    crypto.getRandomValues(new Uint8Array(9)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  // A demo user left in the store by an earlier run (whose password is lost) is made anew.
  await collectorCli("user", "remove", "demo").catch(() => {});
  await run(
    [
      "run",
      "--allow-all",
      "collector/main.ts",
      "--config",
      COLLECTOR_CONFIG,
      "user",
      "add",
      "demo",
      "--role",
      "operator",
      "--password-stdin",
    ],
    {},
    `${password}\n`,
  );
  return { name: "demo", password };
}

/** An admin's API token, for central config and runtime routes. */
function adminToken(): Promise<string> {
  return collectorCli("api-token", "create", `demo-admin-${Date.now()}`, "--role", "admin");
}

/** Tokens for the two demo agents and the API tokens, made once and kept in .demo-data. */
async function tokens(): Promise<Tokens> {
  try {
    const kept: Tokens = JSON.parse(await Deno.readTextFile(TOKENS));
    // Made by an older demo: add what it lacked.
    if (kept.user === undefined || kept.wall === undefined || kept.admin === undefined) {
      kept.user ??= await demoUser();
      kept.wall ??= await collectorCli("wall-token", "create", `demo-wall-${Date.now()}`);
      kept.admin ??= await adminToken();
      await Deno.writeTextFile(TOKENS, JSON.stringify(kept), { mode: 0o600 });
    }
    return kept;
  } catch {
    const made: Tokens = {
      DEMO1: await collectorCli("agent-token", "create", "DEMO1", `demo1-${Date.now()}`),
      DEMO2: await collectorCli("agent-token", "create", "DEMO2", `demo2-${Date.now()}`),
      api: await collectorCli("api-token", "create", `demo-${Date.now()}`, "--role", "operator"),
      user: await demoUser(),
      wall: await collectorCli("wall-token", "create", `demo-wall-${Date.now()}`),
      admin: await adminToken(),
    };
    await Deno.writeTextFile(TOKENS, JSON.stringify(made), { mode: 0o600 });
    return made;
  }
}

function start(name: string, args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), { args, cwd: ROOT, env, stdin: "null" })
    .spawn();
  console.error(`demo: started ${name} (pid ${child.pid})`);
  return { name, child };
}

await Deno.mkdir(DATA, { recursive: true });
await Deno.writeTextFile(
  COLLECTOR_CONFIG,
  `[collector]\nlisten = "127.0.0.1:8790"\ndata_dir = "collector"\noffline_after = "30s"\n`,
);
const t = await tokens();
const agent = (env: string, token: string) =>
  start(
    `agent ${env}`,
    [
      "run",
      ...agentFlags(),
      "agent/main.ts",
      "run",
      "--config",
      "config.example.toml",
      "--env",
      env,
    ],
    { SCRIPTMON_AGENT_TOKEN: token },
  );
const children = [
  start("collector", [
    "run",
    ...collectorFlags(),
    "collector/main.ts",
    "--config",
    COLLECTOR_CONFIG,
    "serve",
  ]),
  agent("demo", t.DEMO1),
  agent("demo2", t.DEMO2),
];
console.error(`
demo: a collector on http://127.0.0.1:8790 and two agents (sites DEMO1 and DEMO2).
  fleet page:   http://127.0.0.1:8790/  (sign in as ${t.user?.name} / ${t.user?.password})
  the wall:     http://127.0.0.1:8790/wall?key=${t.wall}  (a screen's view, no sign-in)
  local pages:  http://127.0.0.1:8791/  http://127.0.0.1:8792/
  fleet API:    curl -H "Authorization: Bearer ${t.api}" http://127.0.0.1:8790/api/v1/scripts
  admin API:    ${t.admin}  (central config: see the README's "Central config")
  an agent:     deno task agent --config config.example.toml --env demo status
Ctrl-C stops everything.
`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const { child } of children) {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
};
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, stop);
const results = await Promise.all(children.map(async ({ name, child }) => {
  const status = await child.status;
  if (!stopping) {
    console.error(`demo: ${name} exited (${status.code}); stopping the others`);
    stop();
  }
  return status.code;
}));
Deno.exit(results.every((c) => c === 0 || c === 143) ? 0 : 1);
