/**
 * The systemd user unit that starts the agent with the user's session
 * (`systemctl --user`): restarted on failure, SIGTERM to the agent (which
 * stops its scripts within their stop_timeout), then SIGKILL of what is left.
 *
 * @module
 */

/** The unit's file name. */
export const UNIT_NAME = "scriptmon-agent.service";

/** What the unit runs. */
export interface UnitSpec {
  /** The program and its arguments. */
  argv: string[];
  /** The folder it starts in (the config's). */
  workingDirectory: string;
}

/**
 * One word of `ExecStart=` as systemd splits it: quoted when it holds a space,
 * a quote, a backslash or nothing; `%` doubled (systemd's specifier) and `$`
 * doubled (its variable expansion).
 */
export function quoteSystemdWord(word: string): string {
  const literal = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (literal !== "" && !/[\s"'\\;]/.test(literal)) return literal;
  return `"${literal.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A path in a unit setting that takes one path (`WorkingDirectory=`): `%` doubled. */
function unitPath(path: string): string {
  if (/[\n\r]/.test(path)) {
    throw new TypeError(`Cannot put a path with a line break in a unit: "${path}"`);
  }
  return path.replaceAll("%", "%%");
}

/** The unit file's text. */
export function userUnit(spec: UnitSpec): string {
  if (spec.argv.length === 0) throw new TypeError("Cannot make a unit: argv is empty");
  for (const word of spec.argv) {
    if (/[\n\r]/.test(word)) throw new TypeError(`Cannot put a line break in ExecStart: "${word}"`);
  }
  return `# Written by \`scriptmon-agent install\`; \`scriptmon-agent uninstall\` removes it.
[Unit]
Description=scriptmon agent: keeps this workstation's scripts running
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=${spec.argv.map(quoteSystemdWord).join(" ")}
WorkingDirectory=${unitPath(spec.workingDirectory)}
Environment=NO_COLOR=1
Restart=on-failure
RestartSec=5
KillMode=mixed
TimeoutStopSec=60

[Install]
WantedBy=default.target
`;
}
