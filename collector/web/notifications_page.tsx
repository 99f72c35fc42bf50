/**
 * The notifications page (`GET /notifications`): what the collector's
 * outbox sent (or tried to) across the fleet, newest first, with its state,
 * attempts and the provider's last answer; filtered by channel, state,
 * site and time.
 *
 * @module
 */
import { MESSAGE_STATES, type MessageRecord } from "../../shared/notify/types.ts";
import type { SessionUser } from "../auth/authenticate.ts";
import { Layout, renderHtml, UtcTime } from "./layout.tsx";

/** The page's filters, as given (times as the form's text). */
export interface NotificationFilter {
  channel?: string;
  state?: string;
  site?: string;
  since?: string;
  until?: string;
}

/** What the page shows. */
export interface NotificationsView {
  /** Null: the collector sends no notifications (no outbox). */
  messages: MessageRecord[] | null;
  filter: NotificationFilter;
  channels: string[];
  sites: string[];
  limit: number;
}

/** The sites a message is about: its alert's and those grouped into it. */
export function sitesOf(message: MessageRecord): string[] {
  if (message.payload.type !== "alert") return [];
  const { alert } = message.payload;
  return [...new Set([alert.site, ...(alert.group ?? []).map((a) => a.site)])];
}

/** One line naming what a message carried. */
export function subjectOf(message: MessageRecord): string {
  const p = message.payload;
  if (p.type === "alert") {
    return `${p.alert.status === "resolved" ? "Resolved: " : ""}${p.alert.title}`;
  }
  if (p.type === "relay") return `Relayed post (${p.post.contentType})`;
  return `Test: ${p.text}`;
}

const TONE: Record<string, string> = {
  sent: "ok",
  queued: "",
  sending: "warn",
  retrying: "warn",
  failed: "bad",
  "dead-lettered": "bad",
  uncertain: "warn",
  duplicate: "",
  silenced: "",
};

/** The whole page. */
export function renderNotificationsPage(view: NotificationsView, user: SessionUser): string {
  const f = view.filter;
  return renderHtml(
    <Layout title="Notifications" user={user} current="/notifications">
      <link rel="stylesheet" href="/static/pages.css" />
      <div class="page-head">
        <h1>Notifications</h1>
      </div>
      <form class="inline" method="get" action="/notifications">
        <label>
          Channel
          <select name="channel">
            <option value="">All channels</option>
            {view.channels.map((c) => (
              <option key={c} value={c} selected={f.channel === c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          State
          <select name="state">
            <option value="">Any state</option>
            {MESSAGE_STATES.map((s) => (
              <option key={s} value={s} selected={f.state === s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Site
          <select name="site">
            <option value="">All sites</option>
            {view.sites.map((s) => <option key={s} value={s} selected={f.site === s}>{s}</option>)}
          </select>
        </label>
        <label>
          <span>
            From <span class="tz">(UTC)</span>
          </span>
          <input type="datetime-local" name="since" value={f.since ?? ""} data-utc="" />
        </label>
        <label>
          <span>
            To <span class="tz">(UTC)</span>
          </span>
          <input type="datetime-local" name="until" value={f.until ?? ""} data-utc="" />
        </label>
        <button type="submit">Show</button>
      </form>
      {view.messages === null
        ? <p class="empty">This collector sends no notifications (no webhooks configured).</p>
        : view.messages.length === 0
        ? <p class="empty">No notifications match.</p>
        : <Messages messages={view.messages} limit={view.limit} />}
    </Layout>,
  );
}

/**
 * The provider's last answer (or, while it is retrying, why the last attempt failed), and every
 * step of the message behind it: each attempt with its answer or connection error.
 */
function History(props: { message: MessageRecord }) {
  const m = props.message;
  const lastNote = [...m.history].reverse().find((h) => h.note !== undefined)?.note ?? "";
  const answer = m.providerStatus === undefined
    ? lastNote
    : `HTTP ${m.providerStatus} ${m.providerAnswer ?? ""}`.trim();
  if (m.history.length <= 1) return <>{answer}</>;
  return (
    <details class="history">
      <summary>{answer === "" ? `${m.history.length} steps` : answer}</summary>
      <ol>
        {m.history.map((h) => (
          <li>
            <UtcTime iso={h.at} />
            {` ${h.state}${h.note === undefined ? "" : `: ${h.note}`}`}
          </li>
        ))}
      </ol>
    </details>
  );
}

function Messages(props: { messages: MessageRecord[]; limit: number }) {
  return (
    <>
      <table class="list" id="notifications">
        <thead>
          <tr>
            <th>Created</th>
            <th>Channel</th>
            <th>State</th>
            <th>Attempts</th>
            <th>Subject</th>
            <th>Site</th>
            <th>Answer or error, each attempt</th>
          </tr>
        </thead>
        <tbody>
          {props.messages.map((m) => (
            <tr key={m.id}>
              <td>
                <UtcTime iso={m.createdAt} />
              </td>
              <td>{m.channel}</td>
              <td>
                <span class={`badge ${TONE[m.state] ?? ""}`}>{m.state}</span>
              </td>
              <td class="num">{m.attempts}</td>
              <td>{subjectOf(m)}</td>
              <td>{sitesOf(m).join(", ")}</td>
              <td>
                <History message={m} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.messages.length >= props.limit
        ? (
          <p class="muted">
            Showing the newest {props.limit}; narrow the filter to see older ones.
          </p>
        )
        : null}
    </>
  );
}
