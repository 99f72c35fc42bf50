/**
 * The environment the agent's children get (scripts, exec probes, token
 * commands): the agent's own, without what only the agent may know.
 *
 * @module
 */

/** Variables no child is given: the key of `enc:v1:` values (or its file), the collector token. */
export const AGENT_ONLY_ENV: readonly string[] = [
  "SCRIPTMON_SECRET_KEY",
  "SCRIPTMON_SECRET_KEY_FILE",
  "SCRIPTMON_AGENT_TOKEN",
];

/**
 * The agent's own environment less {@linkcode AGENT_ONLY_ENV}, read once: a process's environment
 * changes only when the process itself sets a variable, which the agent never does (a crash loop
 * otherwise read it whole from the runtime 30 times a second).
 */
let inherited: Readonly<Record<string, string>> | null = null;

/** The agent's environment without {@linkcode AGENT_ONLY_ENV}, with `extra` on top. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  if (inherited === null) {
    const env = Deno.env.toObject();
    for (const name of AGENT_ONLY_ENV) delete env[name];
    inherited = Object.freeze(env);
  }
  return { ...inherited, ...extra };
}
