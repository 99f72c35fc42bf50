/**
 * scriptmon-agent: the command line. Parses arguments, loads the config and
 * hands over to the library; the only place that prints for people or exits.
 */
import { Command, CommanderError, Option } from "commander";
import { dirname, join, resolve } from "node:path";
import { startAgent } from "./agent.ts";
import { secretCommands } from "./cli_secret.ts";
import { agentHome, ConfigError, envNameFrom, loadConfig, locateDataDir } from "./config/mod.ts";
import { Installer, type InstallState } from "./install/mod.ts";
import type { ResolvedAgentConfig } from "../shared/agent_config/types.ts";
import { ControlClient } from "./local_api/control_client.ts";
import { followLog, readLastLines } from "./logs/tail.ts";
import { setupLogging } from "./logging.ts";
import { runOnce } from "./once.ts";
import { pingWebhooks, redactConfig } from "./notify/webhook_ping.ts";
import { platform, sendCtrlEvent } from "./platform/mod.ts";
import { timeLeft } from "./tokens/once.ts";
import type { TokenStatus } from "./tokens/types.ts";
import { VERSION } from "./version.ts";
import { redact } from "../shared/redact.ts";
import { decodeConfigText } from "../shared/config/mod.ts";
import { SecretError } from "../shared/config/secrets.ts";
import { formatTable } from "../shared/table.ts";
import { printStatus } from "./local_api/status_table.ts";
import { formatBytes, formatDuration, parseDuration } from "../shared/config/units.ts";
import type { Payload } from "../shared/notify/types.ts";

/** Exit codes: 2 for a bad config or bad usage, 1 for everything else that failed. */
const EXIT = { ok: 0, failed: 1, usage: 2, unknown: 3 } as const;

/**
 * Ctrl-C reaches the agent twice when it runs under `deno task` or npx (the
 * terminal signals the whole group, and the wrapper forwards it): a second
 * signal this soon is that echo, not a person asking to stop at once.
 */
const SIGNAL_ECHO_MS = 500;

interface GlobalOptions {
  config?: string;
  env?: string;
}

/** Where the config is looked for when `--config` is not given. */
export function defaultConfigCandidates(): string[] {
  const env = Deno.env.toObject();
  const exe = Deno.execPath();
  const compiled = !/^deno(\.exe)?$/i.test(exe.split(/[\\/]/).pop() ?? "");
  const home = agentHome(Deno.build.os, env); // %LOCALAPPDATA%\scriptmon, ~/.local/share/scriptmon
  return [
    env.SCRIPTMON_CONFIG,
    compiled ? join(dirname(exe), "scriptmon.toml") : undefined,
    home ? join(home, "scriptmon.toml") : undefined,
    resolve("scriptmon.toml"),
  ].filter((p): p is string => Boolean(p));
}

async function findConfig(flag: string | undefined): Promise<string> {
  if (flag) return resolve(flag);
  const candidates = defaultConfigCandidates();
  for (const path of candidates) {
    if (await Deno.stat(path).then(() => true, () => false)) return path;
  }
  throw new ConfigError([{
    path: "--config",
    message: `no config file given and none found at ${candidates.join(", ")}`,
  }]);
}

async function load(opts: GlobalOptions): Promise<ResolvedAgentConfig> {
  return loadConfig(await findConfig(opts.config), { envName: envNameFrom(opts.env) });
}

/**
 * Connects to the running agent of the config's data dir. A config with a
 * broken edit still names its data dir, so the agent stays reachable.
 */
async function connect(opts: GlobalOptions): Promise<ControlClient> {
  const path = await findConfig(opts.config);
  const envName = envNameFrom(opts.env);
  try {
    return await ControlClient.connect((await loadConfig(path, { envName })).agent.dataDir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const text = await Deno.readFile(path).then(decodeConfigText, () => "");
    const dataDir = locateDataDir(text, { path, envName });
    if (!dataDir) throw error;
    console.error(`warning: ${path} has errors (see \`validate\`); using its data dir ${dataDir}`);
    return await ControlClient.connect(dataDir);
  }
}

function printTokens(tokens: TokenStatus[]): void {
  console.log("");
  console.log(formatTable(
    ["TOKEN", "STATE", "TIME LEFT", "EXPIRES", "USED BY", "NOTE"],
    tokens.map((t) => [
      t.name,
      t.state,
      timeLeft(t),
      t.expiresAt,
      t.usedBy.join(", ") || null,
      t.refresh?.failures ? `${t.reason}; refresh failing (${t.refresh.lastReason})` : t.reason,
    ]),
  ));
}

function describePayload(payload: Payload): string {
  if (payload.type === "alert") return `${payload.alert.status} ${payload.alert.title}`;
  if (payload.type === "test") return "test message";
  return `relayed ${payload.post.body.length} bytes`;
}

function program(): Command {
  const cli = new Command("scriptmon-agent")
    .description("Keeps a workstation's operational scripts running, once each.")
    .version(VERSION, "--version")
    .addOption(new Option("-c, --config <file>", "config file (TOML)"))
    .addOption(
      new Option("-e, --env <name>", "apply the [env.<name>] overlay").env("SCRIPTMON_ENV"),
    )
    .showHelpAfterError()
    .exitOverride();
  const globals = () => cli.opts<GlobalOptions>();

  cli.command("run").description("supervise the scripts until stopped (the daemon)")
    .option(
      "--at-logon",
      'started at logon (by install): scripts run once per machine unless singleton = "none"',
    )
    .action(async (options: { atLogon?: boolean }) => {
      const config = await load(globals());
      const closeLogs = await setupLogging({
        level: config.agent.logLevel,
        logDir: config.agent.logDir,
      });
      const agent = await startAgent({
        config,
        ...(options.atLogon ? { defaultSingleton: "machine" as const } : {}),
      });
      const done = Promise.withResolvers<void>();
      let firstSignalAt: number | null = null;
      const onSignal = () => {
        const now = Date.now();
        if (firstSignalAt === null) {
          firstSignalAt = now;
          agent.shutdown().then(done.resolve, done.reject);
        } else if (now - firstSignalAt > SIGNAL_ECHO_MS) {
          agent.killNow().then(done.resolve, done.reject);
        }
      };
      for (const sig of ["SIGINT", "SIGTERM", "SIGBREAK"] as const) {
        try {
          Deno.addSignalListener(sig, onSignal);
        } catch {
          // not a signal of this platform
        }
      }
      await done.promise;
      await closeLogs();
    });

  cli.command("once").description("check every script once, start what is down, and exit 0/1/2/3")
    .option("--json", "print the report as JSON")
    .action(async (opts: { json?: boolean }) => {
      const config = await load(globals());
      const report = await runOnce(config, {
        platform,
        daemonStatus: async () =>
          (await (await ControlClient.connect(config.agent.dataDir)).status()).scripts,
        daemonTokens: async () =>
          (await (await ControlClient.connect(config.agent.dataDir)).status()).tokens ?? [],
      });
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(formatTable(
          ["SCRIPT", "CHECK", "RESULT", "STATE", "PID", "DETAIL"],
          report.checks.map((c) => [
            c.script,
            c.check,
            c.severity.toUpperCase(),
            c.state,
            c.pid,
            c.message,
          ]),
        ));
      }
      Deno.exitCode = report.exitCode;
    });

  cli.command("status").description("show the running agent's scripts")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const installed = await new Installer().state().catch(() => null);
      let status;
      try {
        status = await (await connect(globals())).status();
      } catch (error) {
        if (installed && !opts.json) console.log(installLine(installed));
        throw error;
      }
      if (opts.json) return console.log(JSON.stringify({ ...status, installed }, null, 2));
      const a = status.agent;
      console.log(
        `agent ${a.version}  pid ${a.pid}  site ${a.site}  host ${a.host}  config ${a.configPath}` +
          (a.envName ? ` (env ${a.envName})` : ""),
      );
      if (installed) console.log(installLine(installed));
      if (a.collector) {
        const c = a.collector;
        console.log(
          `collector ${c.url}: ${
            c.connected ? "connected" : `unreachable (${c.lastError ?? "not yet"})`
          }` +
            `, ${c.pending} event(s) pending` + (c.dropped ? `, ${c.dropped} dropped` : ""),
        );
      }
      if (a.central) {
        const { version, refused } = a.central;
        console.log(
          `central config: ${version === null ? "none (this file alone)" : `v${version}`}` +
            (refused ? `; refused v${refused.version}:\n${refused.message}` : ""),
        );
      }
      if (a.store) {
        const s = a.store;
        const oldest = s.oldestAt === null
          ? "nothing kept yet"
          : `oldest record ${formatDuration(Math.max(0, Date.now() - Date.parse(s.oldestAt)))} old`;
        console.log(
          `store ${formatBytes(s.bytes)}, ${oldest} (finished messages kept ${
            formatDuration(s.historyMs)
          })`,
        );
      }
      if (a.configError) {
        console.log(
          `config reload failed at ${a.configError.at}; still running the previous config:\n` +
            a.configError.message,
        );
      }
      printStatus(status.scripts);
      if (status.tokens?.length) printTokens(status.tokens);
    });

  cli.command("validate").description("check the config file without running anything")
    .option("--json", "print the resolved config as JSON")
    .option("--ping", "also send a test message to every webhook and report the answers")
    .action(async (opts: { json?: boolean; ping?: boolean }) => {
      let config: ResolvedAgentConfig;
      try {
        config = await load(globals());
      } catch (error) {
        if (!opts.json || !(error instanceof ConfigError)) throw error;
        // For programs: the problems as JSON on stdout, and the exit code of a bad config.
        const errors = error.issues.map((issue) => ({ ...issue, line: issue.line ?? null }));
        console.log(JSON.stringify({ ok: false, errors }, null, 2));
        Deno.exitCode = EXIT.usage;
        return;
      }
      if (opts.json) console.log(redact(JSON.stringify(redactConfig(config), null, 2)));
      else {
        const n = Object.keys(config.scripts).length;
        const w = Object.keys(config.webhooks).length;
        console.log(
          `${config.path}: OK (${n} script${n === 1 ? "" : "s"}, ${w} webhook${
            w === 1 ? "" : "s"
          }` +
            (config.envName ? `, env ${config.envName})` : ")"),
        );
      }
      if (!opts.ping) return;
      const results = await pingWebhooks(config);
      console.log(formatTable(
        ["WEBHOOK", "KIND", "RESULT", "ANSWER"],
        results.map((r) => [r.name, r.kind, r.ok ? "OK" : "FAILED", r.answer]),
      ));
      if (results.some((r) => !r.ok)) Deno.exitCode = EXIT.failed;
    });

  for (const action of ["start", "stop", "restart"] as const) {
    cli.command(`${action} <name>`)
      .description(
        `${action} a script in the running agent; "all" or a glob ('rates_*') names several` +
          (action === "start" ? " (scripts disabled in the config are started only by name)" : ""),
      )
      .action(async (name: string) => {
        const client = await connect(globals());
        const { scripts } = await client.control(action, name);
        const status = await client.status();
        const done = new Set(scripts.map((s) => s.name));
        printStatus(status.scripts.filter((s) => done.has(s.name)));
      });
  }

  cli.command("reload").description("make the running agent re-read its config now")
    .action(async () => {
      const result = await (await connect(globals())).reload();
      if (!result.ok) throw new Error(result.agent.configError?.message ?? "reload failed");
      console.log("reloaded");
    });

  cli.command("logs <name>").description("print a script's log")
    .option("-n, --lines <n>", "how many of the last lines", "50")
    .option("-f, --follow", "keep printing new lines")
    .action(async (name: string, opts: { lines: string; follow?: boolean }) => {
      const config = await load(globals());
      if (!(name in config.scripts)) {
        throw new RangeError(
          `No script named "${name}" in ${config.path} (known: ${
            Object.keys(config.scripts).join(", ") || "none"
          })`,
        );
      }
      const n = Number(opts.lines);
      if (!Number.isInteger(n) || n < 0) {
        throw new RangeError(`--lines expects a whole number, got "${opts.lines}"`);
      }
      const path = join(config.agent.logDir, `${name}.log`);
      for (const line of await readLastLines(path, n)) console.log(line);
      if (!opts.follow) return;
      const stop = new AbortController();
      Deno.addSignalListener("SIGINT", () => stop.abort());
      await followLog(path, {
        signal: stop.signal,
        onLines: (lines) => lines.forEach((l) => console.log(l)),
      });
    });

  cli.command("notifications").description("what was sent to whom, and how it went")
    .option("--since <when>", 'an ISO time, or a duration back from now like "2h"')
    .option("--state <state>", "only messages in this state (sent, failed, uncertain, ...)")
    .option("--channel <webhook>", "only this webhook")
    .option("-n, --limit <n>", "at most this many", "50")
    .option("--json", "print JSON")
    .action(
      async (
        opts: { since?: string; state?: string; channel?: string; limit: string; json?: boolean },
      ) => {
        const since = opts.since === undefined
          ? undefined
          : Number.isNaN(Date.parse(opts.since))
          ? new Date(Date.now() - parseDuration(opts.since)).toISOString()
          : new Date(opts.since).toISOString();
        const { messages, counts } = await (await connect(globals())).notifications({
          since,
          state: opts.state,
          channel: opts.channel,
          limit: Number(opts.limit),
        });
        if (opts.json) return console.log(JSON.stringify(messages, null, 2));
        console.log(formatTable(
          ["TIME", "WEBHOOK", "STATE", "ATTEMPTS", "WHAT", "ANSWER"],
          messages.map((m) => [
            m.createdAt,
            m.channel,
            m.state,
            m.attempts,
            describePayload(m.payload),
            m.providerStatus
              ? `${m.providerStatus} ${(m.providerAnswer ?? "").slice(0, 60)}`
              : (m.history.at(-1)?.note ?? null),
          ]),
        ));
        const totals = Object.entries(counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
        console.log(`\nall messages: ${totals.join(", ") || "none"}`);
      },
    );

  const silence = cli.command("silence").description("hush alerts for a while");
  silence.command("add").description(
    "silence alerts matching fields, e.g. --match script=rates --for 2h",
  )
    .requiredOption(
      "-m, --match <field=value...>",
      "site, host, script, check, rule or severity (globs with *)",
    )
    .option("--for <duration>", 'how long, like "2h"')
    .option("--until <iso>", "until when")
    .option("--comment <text>", "why")
    .action(async (opts: { match: string[]; for?: string; until?: string; comment?: string }) => {
      const match = Object.fromEntries(opts.match.map((m) => {
        const at = m.indexOf("=");
        if (at < 1) throw new RangeError(`--match expects field=value, got "${m}"`);
        return [m.slice(0, at), m.slice(at + 1)];
      }));
      const { silence: added } = await (await connect(globals())).addSilence({
        match,
        for: opts.for,
        until: opts.until,
        comment: opts.comment,
        createdBy: Deno.env.get("USER") ?? Deno.env.get("USERNAME"),
      });
      console.log(`${added.id} until ${added.until}`);
    });
  silence.command("list").description("active silences").option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const { silences } = await (await connect(globals())).silences();
      if (opts.json) return console.log(JSON.stringify(silences, null, 2));
      console.log(formatTable(
        ["ID", "UNTIL", "MATCH", "COMMENT"],
        silences.map((s) => [
          s.id,
          s.until,
          Object.entries(s.match).map(([k, v]) => `${k}=${v}`).join(" "),
          s.comment ?? null,
        ]),
      ));
    });
  silence.command("remove <id>").description("end a silence now").action(async (id: string) => {
    await (await connect(globals())).removeSilence(id);
    console.log(`removed ${id}`);
  });

  cli.command("install").description("start the agent at each logon of this user")
    .action(async () => {
      const opts = globals();
      const path = await findConfig(opts.config);
      const envName = envNameFrom(opts.env);
      await loadConfig(path, { envName }); // refuses a config that does not validate
      const state = await new Installer().install(path, envName);
      console.log(
        `installed: ${state.how} (${state.where}), running ${state.command ?? "the agent"}`,
      );
      if (Deno.build.os !== "windows") {
        console.log(
          "a user unit runs while you are logged in; to keep it running after logout and start it at boot: loginctl enable-linger",
        );
      }
      console.log("undo with: scriptmon-agent uninstall");
    });
  cli.command("uninstall").description("stop starting the agent at logon (and stop it)")
    .action(async () => {
      const installer = new Installer();
      console.log(
        await installer.uninstall()
          ? `removed the ${installer.how}`
          : `nothing to remove: no ${installer.how} is installed`,
      );
    });

  // Windows only, run by the agent itself to stop a script: see agent/platform/_win_console.ts.
  cli.command("ctrl-event <pid> <event>", { hidden: true }).action((pid: string, event: string) => {
    if (Deno.build.os !== "windows") throw new Error("ctrl-event is for Windows only");
    if (!/^\d+$/.test(pid) || (event !== "c" && event !== "break")) {
      throw new Error(`ctrl-event: expected <pid> <c|break>, got "${pid}" "${event}"`);
    }
    sendCtrlEvent(Number(pid), event);
  });
  secretCommands(cli);
  cli.command("version").description("print the version").action(() => {
    console.log(`scriptmon-agent ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})`);
  });
  return cli;
}

/** The `status` line about starting at logon. */
function installLine(state: InstallState): string {
  return state.installed
    ? `at logon: installed (${state.how}, ${state.where}${state.active ? `, ${state.active}` : ""})`
    : "at logon: not installed (scriptmon-agent install)";
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  // `--once` is the cron-friendly spelling of the `once` verb.
  const argv = args.includes("--once") ? ["once", ...args.filter((a) => a !== "--once")] : args;
  try {
    await program().parseAsync(argv, { from: "user" });
    return typeof Deno.exitCode === "number" ? Deno.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // A message may quote a config value: never a secret.
    console.error(redact(`scriptmon-agent: ${error instanceof Error ? error.message : error}`));
    // For a monitoring system, a pass that could not look is "unknown".
    if (argv[0] === "once") return EXIT.unknown;
    return error instanceof ConfigError || error instanceof SecretError ? EXIT.usage : EXIT.failed;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
