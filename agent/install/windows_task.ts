/**
 * The Task Scheduler task that starts the agent at logon: this user's logon,
 * in this user's session (a service would run in session 0, with no desktop,
 * mapped drives or profile), hidden, no time limit, restarted on failure, one
 * copy. Written as Task Scheduler XML (schema 1.2) for `schtasks /Create /XML`,
 * which reads UTF-16LE with a byte order mark.
 *
 * @module
 */

/** The task's name in Task Scheduler. */
export const TASK_NAME = "scriptmon-agent";

/** What the task runs, and for whom. */
export interface TaskSpec {
  /** `DOMAIN\user` (or `user`) whose logon starts it. */
  user: string;
  /** The program and its arguments. */
  argv: string[];
  /** The folder it starts in (the config's). */
  workingDirectory: string;
}

/** `text` escaped for XML element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/**
 * One argument quoted the way Windows programs split a command line
 * (CommandLineToArgvW): quotes around words with spaces, tabs or quotes,
 * backslashes doubled before a quote.
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  const escaped = arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, "$1$1");
  return `"${escaped}"`;
}

/** The task's XML. */
export function taskXml(spec: TaskSpec): string {
  const [command, ...args] = spec.argv;
  if (command === undefined) throw new TypeError("Cannot make a logon task: argv is empty");
  const user = escapeXml(spec.user);
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>scriptmon agent: keeps this workstation's scripts running (started at logon)</Description>
    <URI>\\${TASK_NAME}</URI>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>${user}</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>${user}</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings>
      <StopOnIdleEnd>false</StopOnIdleEnd>
      <RestartOnIdle>false</RestartOnIdle>
    </IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>true</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>7</Priority>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>${escapeXml(command)}</Command>
      <Arguments>${escapeXml(args.map(quoteWindowsArg).join(" "))}</Arguments>
      <WorkingDirectory>${escapeXml(spec.workingDirectory)}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
`;
}

/** `text` as UTF-16LE with a byte order mark, as `schtasks /XML` reads it. */
export function utf16le(text: string): Uint8Array {
  const bytes = new Uint8Array(2 + text.length * 2);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0xfeff, true);
  for (let i = 0; i < text.length; i++) view.setUint16(2 + i * 2, text.charCodeAt(i), true);
  return bytes;
}

/** The text of `schtasks` output: UTF-16LE when it starts with a BOM or looks like it, else UTF-8. */
export function decodeSchtasks(bytes: Uint8Array): string {
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) ||
    (bytes.length >= 4 && bytes[1] === 0 && bytes[3] === 0);
  return new TextDecoder(utf16 ? "utf-16le" : "utf-8").decode(bytes).replace(/^\uFEFF/, "");
}

/** The command and arguments of a task's XML (as `schtasks /Query /XML` prints it), or null. */
export function taskAction(xml: string): { command: string; arguments: string } | null {
  const command = /<Command>([\s\S]*?)<\/Command>/.exec(xml)?.[1];
  if (command === undefined) return null;
  const args = /<Arguments>([\s\S]*?)<\/Arguments>/.exec(xml)?.[1] ?? "";
  return { command: unescapeXml(command), arguments: unescapeXml(args) };
}

function unescapeXml(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot|apos);/g,
    (_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[name]!,
  );
}
