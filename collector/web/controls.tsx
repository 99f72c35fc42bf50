/**
 * Start, stop and restart buttons for one script. `/static/app.js` asks for
 * confirmation, posts to `POST /api/v1/agents/<site>/<host>/scripts/<name>/<action>`
 * with the page's CSRF token, then polls the command until the agent acks
 * and shows the result in the page's `#cmdlog` (created when missing). Render it only for users whose
 * role allows control ({@linkcode canControl}); the server refuses the
 * others anyway.
 *
 * @module
 */
import type { SessionUser } from "../auth/authenticate.ts";
import { roleAllows } from "../auth/roles.ts";

/** Whether `user` may start, stop and restart scripts. */
export function canControl(user: SessionUser | null): boolean {
  return user !== null && roleAllows(user.role, "operator");
}

/**
 * The three control buttons of one script. Without `site`, `host` and
 * `script` they act on the script of the closest element with
 * `data-k="<site>/<host>/<script>"` (the fleet page's tiles, to keep 10,000
 * of them lean).
 */
export function ControlButtons(
  props: { site?: string; host?: string; script?: string; actions?: readonly ControlAction[] },
) {
  const actions = props.actions ?? ACTIONS;
  return (
    <span class="ctl" data-site={props.site} data-host={props.host} data-script={props.script}>
      {
        // deno-lint-ignore jsx-key
        actions.map((action) => <button type="button" data-a={action}>{LABEL[action]}</button>)
      }
    </span>
  );
}

/** What the buttons ask an agent to do. */
export type ControlAction = "start" | "stop" | "restart";

const ACTIONS: readonly ControlAction[] = ["start", "stop", "restart"];
const LABEL: Record<ControlAction, string> = { start: "Start", stop: "Stop", restart: "Restart" };
