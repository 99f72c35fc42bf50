/**
 * Starting the agent at logon: `install`, `uninstall` and the installed
 * state, as a Task Scheduler task on Windows and a systemd user unit on Linux.
 *
 * @module
 */
export { Installer, type InstallerDeps, InstallError, type InstallState } from "./installer.ts";
export { agentCommand } from "./agent_command.ts";
