/**
 * `singleton = "machine"` across users: two agents of one workstation, run
 * as two different users with their own data folders, as at a shared FC desk.
 * The agent runs from its bundle (as the zip ships it) with a copy of this
 * Deno, both in a folder every user can read; each user gets its own Deno
 * cache. Needs root (to create the users and switch to them): skipped
 * otherwise.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { StatusBody } from "../agent/local_api/mod.ts";
import { agentBundleArgs, agentFlags, unstableFlags } from "../scripts/agent_flags.ts";
import { until } from "./_helpers.ts";
import { MACHINE_POLL_MS as POLL_MS } from "../agent/supervise/mod.ts";
import { Recorder } from "./_recorder.ts";

const USERS = ["scriptmon-t1", "scriptmon-t2"] as const;
const root = Deno.build.os === "linux" && Deno.uid() === 0;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${text(out.stderr)}`);
  return text(out.stdout);
}

/** The test users' uid and gid, created when missing. */
async function ensureUser(name: string): Promise<{ uid: number; gid: number }> {
  const known = async () => {
    const line = (await Deno.readTextFile("/etc/passwd")).split("\n")
      .find((l) => l.startsWith(`${name}:`));
    return line ? { uid: Number(line.split(":")[2]), gid: Number(line.split(":")[3]) } : null;
  };
  const found = await known();
  if (found) return found;
  await run("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
    .catch(async (error) => {
      // Another test run created it meanwhile.
      if (!(await known())) throw error;
    });
  return (await known())!;
}

/** A folder every user can read: this Deno and the agent's bundle. */
async function shared(): Promise<{ dir: string; deno: string; bundle: string }> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-machine-" });
  await Deno.chmod(dir, 0o755);
  const deno = join(dir, "deno");
  await Deno.copyFile(Deno.execPath(), deno);
  await Deno.chmod(deno, 0o755);
  const bundle = join(dir, "scriptmon-agent.js");
  await run(Deno.execPath(), agentBundleArgs(bundle));
  await Deno.chmod(bundle, 0o644);
  // Scripts append here, whichever user runs them.
  const runs = join(dir, "runs.log");
  await Deno.writeTextFile(runs, "");
  await Deno.chmod(runs, 0o666);
  return { dir, deno, bundle };
}

/** One user's agent: its own folder (owned by it), config and data. */
class UserAgent {
  child: Deno.ChildProcess | null = null;
  stderr: Promise<string> = Promise.resolve("");
  constructor(
    readonly user: string,
    readonly ids: { uid: number; gid: number },
    readonly home: string,
    readonly env: { deno: string; bundle: string },
  ) {}

  static async create(
    user: string,
    base: { dir: string; deno: string; bundle: string },
    scripts: string,
  ): Promise<UserAgent> {
    const ids = await ensureUser(user);
    const home = join(base.dir, user);
    await Deno.mkdir(join(home, "data"), { recursive: true });
    await Deno.writeTextFile(
      join(home, "scriptmon.toml"),
      `[agent]\nsite = "TEST1"\ndata_dir = "data"\napi_port = 0\nlog_level = "info"\n\n` +
        `[defaults]\nstop_timeout = "2s"\n\n${scripts}`,
    );
    for (const path of [home, join(home, "data"), join(home, "scriptmon.toml")]) {
      await Deno.chown(path, ids.uid, ids.gid);
    }
    await Deno.chmod(home, 0o700);
    return new UserAgent(user, ids, home, base);
  }

  /** Starts `run` as the user (setpriv execs: the child's pid is the agent's). */
  start(...flags: string[]): void {
    this.child = new Deno.Command("setpriv", {
      args: [
        `--reuid=${this.ids.uid}`,
        `--regid=${this.ids.gid}`,
        "--clear-groups",
        "--",
        this.env.deno,
        "run",
        ...agentFlags(),
        ...unstableFlags(),
        "--no-config",
        this.env.bundle,
        "run",
        ...flags,
        "--config",
        join(this.home, "scriptmon.toml"),
      ],
      clearEnv: true,
      env: {
        PATH: "/usr/local/bin:/usr/bin:/bin",
        HOME: this.home,
        USER: this.user,
        DENO_DIR: join(this.home, "deno-cache"),
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.stderr = new Response(this.child.stderr).text();
  }

  /** The local API's port, once the agent has written it. */
  async port(): Promise<number | undefined> {
    try {
      const holder = JSON.parse(
        await Deno.readTextFile(join(this.home, "data", "agent.holder.json")),
      );
      return holder.pid === this.child?.pid && typeof holder.apiPort === "number"
        ? holder.apiPort
        : undefined;
    } catch {
      return undefined;
    }
  }

  async status(): Promise<StatusBody | undefined> {
    try {
      const port = await this.port();
      if (port === undefined) return undefined;
      const res = await fetch(`http://127.0.0.1:${port}/api/status`);
      return res.ok ? await res.json() : undefined;
    } catch {
      return undefined;
    }
  }

  async script(name: string) {
    return (await this.status())?.scripts.find((s) => s.name === name);
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<string> {
    try {
      this.child?.kill(signal);
    } catch {
      // Gone already.
    }
    await this.child?.status;
    return await this.stderr;
  }
}

/** A `[scripts.<name>]` that appends `<user> <pid>` to runs.log, then sleeps. */
function recorder(name: string, dir: string, singleton: string | null): string {
  const line = `echo "$(id -un) $$" >> ${join(dir, "runs.log")}; exec sleep 3600`;
  return `[scripts.${name}]\ncommand = ["sh", "-c", ${JSON.stringify(line)}]\n` +
    (singleton ? `singleton = "${singleton}"\n` : "") + "\n";
}

/** Waits until one of the two agents runs `name` and the other keeps it stopped: [holder, waiter]. */
function oneRunning(a: UserAgent, b: UserAgent, name: string) {
  return until("one agent running the script, the other waiting", async () => {
    const [sa, sb] = [await a.script(name), await b.script(name)];
    if (sa?.state === "running" && sb?.state === "stopped") return [a, b] as const;
    if (sb?.state === "running" && sa?.state === "stopped") return [b, a] as const;
    return undefined;
  }, 30_000);
}

async function runs(dir: string): Promise<string[]> {
  return (await Deno.readTextFile(join(dir, "runs.log"))).split("\n").filter((l) => l !== "");
}

Deno.test({
  name: "a machine singleton runs on one of two users' agents; killed, the other takes it over",
  ignore: !root,
  sanitizeResources: false,
  async fn() {
    const base = await shared();
    // A name of this run's own: claims are machine-wide.
    const name = `tok-${crypto.randomUUID().slice(0, 8)}`;
    // One agent says singleton = "machine"; the other gets it as the default of --at-logon.
    const a = await UserAgent.create(USERS[0], base, recorder(name, base.dir, "machine"));
    const b = await UserAgent.create(USERS[1], base, recorder(name, base.dir, null));
    try {
      a.start();
      b.start("--at-logon");
      const [holder, waiter] = await oneRunning(a, b, name);
      const waiting = await waiter.script(name);
      assert.match(
        waiting!.reason ?? "",
        new RegExp(
          `waiting for the machine claim \\(held by ${holder.user}, pid ${holder.child!.pid}\\)`,
        ),
      );
      assert.deepEqual(waiting!.singleton, {
        scope: "machine",
        here: false,
        holder: `${holder.user}, pid ${holder.child!.pid}`,
      });
      assert.deepEqual((await holder.script(name))!.singleton, {
        scope: "machine",
        here: true,
        holder: `${holder.user}, pid ${holder.child!.pid}`,
      });
      const first = await until("the first run's line", async () => {
        const lines = await runs(base.dir);
        return lines.length >= 1 ? lines : undefined;
      });
      assert.deepEqual(first.map((l) => l.split(" ")[0]), [holder.user]);
      // Three looks of the waiting agent later (every 2 s), still one copy.
      await new Promise((resolve) => setTimeout(resolve, 3 * POLL_MS));
      assert.equal((await runs(base.dir)).length, 1, "a second copy started");
      assert.equal((await waiter.script(name))?.state, "stopped");

      // The holder dies without a word: the OS frees its claim, the other agent starts the script.
      await holder.stop("SIGKILL");
      await until(
        "the other agent running the script",
        async () => (await waiter.script(name))?.state === "running",
        15_000,
      );
      // The script writes its line after the agent reports it running.
      const lines = await until("the second run's line", async () => {
        const lines = await runs(base.dir);
        return lines.length >= 2 ? lines : undefined;
      });
      assert.deepEqual(lines.map((l) => l.split(" ")[0]), [holder.user, waiter.user]);
    } finally {
      await a.stop();
      await b.stop();
      await Deno.remove(base.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a socket and files planted by another user before start neither block nor hijack the claim",
  ignore: !root,
  sanitizeResources: false,
  async fn() {
    const base = await shared();
    const name = `tok-${crypto.randomUUID().slice(0, 8)}`;
    const squatterIds = await ensureUser(USERS[1]);
    // The other user binds the claim's first name and plants files where a lock could be looked for.
    const squat = join(base.dir, "squat.ts");
    await Deno.writeTextFile(
      squat,
      `const l = Deno.listen({ transport: "unix", path: "\\0scriptmon/machine/${name}#0" });
       for (const p of ["/tmp/scriptmon-${name}.lock", "/dev/shm/scriptmon-${name}"]) {
         Deno.writeTextFileSync(p, "mine"); Deno.chmodSync(p, 0o600);
       }
       console.log("ready");
       for await (const c of l) c.close();`,
    );
    await Deno.chmod(squat, 0o644);
    const squatter = new Deno.Command("setpriv", {
      args: [
        `--reuid=${squatterIds.uid}`,
        `--regid=${squatterIds.gid}`,
        "--clear-groups",
        "--",
        base.deno,
        "run",
        "--allow-all",
        "--no-config",
        squat,
      ],
      clearEnv: true,
      env: { HOME: base.dir, DENO_DIR: join(base.dir, "squat-cache"), PATH: "/usr/bin:/bin" },
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const a = await UserAgent.create(USERS[0], base, recorder(name, base.dir, "machine"));
    const b = await UserAgent.create(USERS[1], base, recorder(name, base.dir, "machine"));
    try {
      const reader = squatter.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.equal((await reader.read()).value?.trim(), "ready");
      reader.releaseLock();
      a.start();
      b.start();
      const [, waiter] = await oneRunning(a, b, name);
      // The waiting agent names the agent holding the claim, not the squatter.
      const reason = (await waiter.script(name))?.reason ?? "";
      assert.doesNotMatch(reason, new RegExp(`pid ${squatter.pid}\\b`));
      assert.equal(
        (await until("the run's line", async () => {
          const lines = await runs(base.dir);
          return lines.length >= 1 ? lines : undefined;
        })).length,
        1,
      );
    } finally {
      await a.stop();
      await b.stop();
      squatter.kill("SIGKILL");
      await squatter.status;
      for (const p of [`/tmp/scriptmon-${name}.lock`, `/dev/shm/scriptmon-${name}`]) {
        await Deno.remove(p).catch(() => {});
      }
      await Deno.remove(base.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    'the same post relayed by two users\' agents to a dedupe_scope = "machine" webhook is sent once',
  ignore: !root,
  sanitizeResources: false,
  async fn() {
    const base = await shared();
    await using slack = new Recorder();
    const webhook = `[webhooks.dock]\nkind = "slack"\nurl = "${slack.url("/hook")}"\n` +
      `dedupe_scope = "machine"\n\n`;
    const agents = await Promise.all(USERS.map((user) => UserAgent.create(user, base, webhook)));
    try {
      for (const agent of agents) agent.start();
      const ports = await Promise.all(
        agents.map((agent) =>
          until(`${agent.user}'s local API`, async () => (await agent.status()) && agent.port())
        ),
      );
      const relay = async (port: number, text: string) => {
        const res = await fetch(`http://127.0.0.1:${port}/relay/dock`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ text }),
        });
        assert.ok(res.ok, `${res.status} ${await res.clone().text()}`);
        return await res.json();
      };
      const post = `dock 7 is late ${crypto.randomUUID()}`;
      const first = await relay(ports[0], post);
      const second = await relay(ports[1], post);
      assert.notEqual(first.duplicate, true, JSON.stringify(first));
      assert.equal(second.duplicate, true, JSON.stringify(second));
      assert.equal(second.dedupe, undefined, "claimed machine-wide, not on the agent only");
      // Both at once, the other way round.
      const other = `dock 9 is late ${crypto.randomUUID()}`;
      const both = await Promise.all([relay(ports[1], other), relay(ports[0], other)]);
      assert.deepEqual(both.map((a) => a.duplicate === true).sort(), [false, true]);
      await slack.received(2);
      assert.deepEqual(
        slack.requests.map((r) => JSON.parse(r.body).text).sort(),
        [post, other].sort(),
      );
    } finally {
      for (const agent of agents) await agent.stop();
      await Deno.remove(base.dir, { recursive: true });
    }
  },
});
