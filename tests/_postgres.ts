/**
 * A real PostgreSQL server for tests: the one `.ci/run` started
 * (`SCRIPTMON_TEST_POSTGRES_URL`, a superuser's URL), else a private cluster
 * started here from Debian's binaries (`initdb` into a temporary folder, a
 * loopback port, run as the `postgres` user when the tests run as root),
 * stopped by its pid. Each test gets a database of its own.
 */
import { join } from "node:path";
import postgres from "postgres";

/** A running server; `database()` makes a fresh database and returns its URL. */
export interface TestPostgres {
  /** A new, empty database; dropped by `stop()`. */
  database(): Promise<string>;
  /** Drops the databases made and stops the server if this fixture started it. */
  stop(): Promise<void>;
}

const ENV_URL = "SCRIPTMON_TEST_POSTGRES_URL";

/** The newest `/usr/lib/postgresql/<major>/bin`, or null when PostgreSQL is not installed. */
export function postgresBin(): string | null {
  try {
    const majors = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((entry) => Number(entry.name))
      .filter((n) => Number.isInteger(n))
      .sort((a, b) => b - a);
    for (const major of majors) {
      const bin = `/usr/lib/postgresql/${major}/bin`;
      try {
        Deno.statSync(join(bin, "initdb"));
        return bin;
      } catch { /* next */ }
    }
  } catch { /* not installed */ }
  return null;
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresMissing(): string | null {
  if (Deno.env.get(ENV_URL)) return null;
  return postgresBin() === null
    ? "PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)"
    : null;
}

/** The uid/gid to run the server as: ourselves, or `postgres` (else `nobody`) when root. */
function runAs(): string[] {
  if (Deno.uid() !== 0) return [];
  for (const user of ["postgres", "nobody"]) {
    const id = new Deno.Command("id", { args: ["-u", user], stdout: "piped", stderr: "null" })
      .outputSync();
    if (id.success) {
      return [
        "setpriv",
        `--reuid=${user}`,
        `--regid=${user === "nobody" ? "nogroup" : user}`,
        "--clear-groups",
      ];
    }
  }
  throw new Error("Running as root with neither a postgres nor a nobody user to run PostgreSQL as");
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function run(argv: string[], what: string): Promise<void> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`${what} failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  }
}

/**
 * Starts a private cluster and resolves once it accepts connections (a superuser's URL). Without
 * `durable` it runs with `fsync`, synchronous commits and full-page writes off, as tests want.
 */
export async function startCluster(options: { durable?: boolean } = {}): Promise<
  { url: string; pid: number; stop: () => Promise<void> }
> {
  const bin = postgresBin();
  if (bin === null) throw new Error(postgresMissing()!);
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-pg-" });
  const data = join(dir, "data");
  const as = runAs();
  await Deno.mkdir(data);
  if (as.length > 0) {
    await run(["chown", "-R", `${as[1].slice("--reuid=".length)}`, dir], "chown");
    await Deno.chmod(dir, 0o755);
  }
  await run(
    [
      ...as,
      join(bin, "initdb"),
      "-D",
      data,
      "-U",
      "scriptmon",
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-sync",
    ],
    "initdb",
  );
  const port = freePort();
  const server = new Deno.Command(as[0] ?? join(bin, "postgres"), {
    args: [
      ...as.slice(1),
      ...(as.length > 0 ? [join(bin, "postgres")] : []),
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      "",
      "-c",
      "listen_addresses=127.0.0.1",
      // Tests trade durability for speed; a benchmark asks for a commit on disk when answered.
      ...(options.durable ? [] : [
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
      ]),
      "-c",
      "max_connections=200",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // The server logs to stderr; "ready to accept connections" is the event to wait for.
  const lines = server.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  for (;;) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`PostgreSQL exited before it was ready:\n${log.slice(-2000)}`);
    log += value;
    if (log.includes("ready to accept connections")) break;
  }
  // Keep draining the log so that the server never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })();
  return {
    url: `postgres://scriptmon@127.0.0.1:${port}/postgres`,
    pid: server.pid,
    stop: async () => {
      server.kill("SIGTERM"); // by pid: the child we started ("smart" shutdown after clients leave)
      await server.status;
      await drained.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The `.ci/run` server, or a private one started now. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const given = Deno.env.get(ENV_URL);
  const cluster = given ? { url: given, stop: async () => {} } : await startCluster();
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  const made: string[] = [];
  return {
    async database() {
      const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      made.push(name);
      const url = new URL(cluster.url);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async stop() {
      for (const name of made) {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
      await admin.end({ timeout: 5 });
      await cluster.stop();
    },
  };
}
