/**
 * The central config page (`GET /config`, admins of every site): which
 * version each agent runs (behind ones and refusals first), the webhooks of
 * the documents with "send a test message" and "change URL", each document
 * in an editor that checks (diff and problems with their lines) before it
 * saves, and the versions with their diffs, rollouts and rollbacks. The
 * buttons call `/api/v1/config` with the page's CSRF token
 * (`page_assets/config_page.js`). Secrets show sealed, never in plain.
 *
 * @module
 */
import { Hono } from "hono";
import { type CollectorEnv, type SessionUser, signedIn } from "../auth/authenticate.ts";
import type { AppliedState, CentralConfig, ConfigVersion, WebhookSummary } from "../central/mod.ts";
import type { Store } from "../store/store.ts";
import { Layout, renderHtml, UtcTime } from "./layout.tsx";

/** One agent's row: what it runs against what its rollout says. */
export interface AgentConfigRow {
  site: string;
  host: string;
  /** Its token's environment, when it has one. */
  environment?: string;
  desired: number | null;
  applied: AppliedState | null;
}

/** What the page shows. */
export interface ConfigView {
  head: number;
  agents: AgentConfigRow[];
  webhooks: WebhookSummary[];
  documents: { scope: string; version: number; text: string }[];
  versions: readonly ConfigVersion[];
}

/** How an agent stands: on its version, behind it, or refusing it. */
export function agentStanding(row: AgentConfigRow): "current" | "behind" | "refused" | "none" {
  const running = row.applied?.version ?? null;
  if (row.applied?.refused !== undefined && row.applied.refused.version === row.desired) {
    return "refused";
  }
  if (row.desired === null) return running === null ? "none" : "current";
  return running === row.desired ? "current" : "behind";
}

const ORDER = { refused: 0, behind: 1, current: 2, none: 3 };
const TONE = { refused: "bad", behind: "warn", current: "ok", none: "" };

/** The whole page. */
export function renderConfigPage(view: ConfigView, user: SessionUser): string {
  const rows = [...view.agents].sort((a, b) =>
    ORDER[agentStanding(a)] - ORDER[agentStanding(b)] ||
    a.site.localeCompare(b.site) || a.host.localeCompare(b.host)
  );
  const count = (standing: string) => rows.filter((r) => agentStanding(r) === standing).length;
  return renderHtml(
    <Layout title="Central config" user={user} current="/config">
      <link rel="stylesheet" href="/static/pages.css" />
      <script src="/static/config_page.js" defer></script>
      <div class="page-head">
        <h1>Central config</h1>
        <span class="badge">{view.head === 0 ? "no versions yet" : `latest v${view.head}`}</span>
      </div>
      <p id="configmsg" role="status"></p>
      <div class="cards">
        <div class="card">
          <h2>On their version</h2>
          <div class="big" id="count-current">{count("current")}</div>
        </div>
        <div class="card">
          <h2>Behind</h2>
          <div class="big" id="count-behind">{count("behind")}</div>
        </div>
        <div class="card">
          <h2>Refused it</h2>
          <div class="big" id="count-refused">{count("refused")}</div>
        </div>
      </div>

      <h2>Agents</h2>
      {rows.length === 0
        ? <p class="empty">No agent has reported yet.</p>
        : (
          <table class="list" id="config-agents">
            <thead>
              <tr>
                <th>Environment</th>
                <th>Site</th>
                <th>Host</th>
                <th>Runs</th>
                <th>Rollout says</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const standing = agentStanding(row);
                return (
                  <tr data-agent={`${row.site}/${row.host}`}>
                    <td>{row.environment ?? "-"}</td>
                    <td>{row.site}</td>
                    <td>{row.host}</td>
                    <td>{versionText(row.applied?.version ?? null)}</td>
                    <td>{versionText(row.desired)}</td>
                    <td>
                      <span class={`badge ${TONE[standing]}`}>
                        {standing === "none" ? "local file only" : standing}
                      </span>
                      {standing === "refused"
                        ? <pre class="refusal">{row.applied?.refused?.message ?? ""}</pre>
                        : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}

      <h2>Webhooks</h2>
      {view.webhooks.length === 0
        ? <p class="empty">No central document defines a webhook.</p>
        : (
          <table class="list" id="config-webhooks">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Document</th>
                <th>URL</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {view.webhooks.map((w) => (
                <tr data-scope={w.scope} data-webhook={w.name}>
                  <td>{w.name}</td>
                  <td>{w.kind}</td>
                  <td>{w.scope}</td>
                  <td class="mono">{w.shownUrl}</td>
                  <td class="actions">
                    <button type="button" data-do="test">Send a test message</button>
                    <button type="button" data-do="seturl">Change URL…</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}

      <h2>Documents</h2>
      <p class="muted">
        Merged in this order over each agent's own file, which keeps [agent] and [collector]: the
        fleet's, its site's, its own. Secrets show sealed (enc:v1); write a new one in plain and it
        is sealed when saved.
      </p>
      {[...view.documents, { scope: "", version: 0, text: "" }].map((doc) => (
        <details class="panel doc" data-doc={doc.scope} open={view.documents.length === 0}>
          <summary>
            {doc.scope === "" ? "New document…" : (
              <>
                <strong>{doc.scope}</strong> <span class="muted">changed in v{doc.version}</span>
              </>
            )}
          </summary>
          <form class="doc-form" data-base={String(view.head)}>
            {doc.scope === "" && (
              <label>
                For
                <input
                  name="scope"
                  required
                  placeholder="fleet, env:staging, site:FC1 or agent:FC1/ws-01"
                />
              </label>
            )}
            <textarea
              name="text"
              rows={Math.min(30, Math.max(8, doc.text.split("\n").length + 2))}
              spellcheck={false}
            >
              {doc.text}
            </textarea>
            <label>
              Why
              <input
                name="why"
                maxlength={500}
                required
                placeholder="what and why, for the history"
              />
            </label>
            <label>
              Roll out to
              <input
                name="rollout"
                placeholder="fleet (default), env:staging, site:FC1 or agent:FC1/ws-01"
              />
            </label>
            <div class="actions">
              <button type="button" data-do="check">Check</button>
              <button type="button" data-do="save">Save as a new version</button>
            </div>
            <div class="doc-result"></div>
          </form>
        </details>
      ))}

      <h2>Versions</h2>
      {view.versions.length === 0
        ? <p class="empty">No versions yet.</p>
        : (
          <table class="list" id="config-versions">
            <thead>
              <tr>
                <th>Version</th>
                <th>When</th>
                <th>By</th>
                <th>What</th>
                <th>Rolled out to</th>
                <th>Why</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {[...view.versions].reverse().map((v) => (
                <tr data-version={String(v.version)}>
                  <td class="num">v{v.version}</td>
                  <td>
                    <UtcTime iso={v.at} />
                  </td>
                  <td>{v.by}</td>
                  <td>
                    {v.action === "rollback" ? `rollback to v${v.rollbackTo}` : v.action}{" "}
                    {v.changed.join(", ")}
                  </td>
                  <td>{v.rollout}</td>
                  <td>{v.why}</td>
                  <td class="actions">
                    <button type="button" data-do="diff">Diff</button>
                    <button type="button" data-do="rollout">Roll out to…</button>
                    {v.version === view.head
                      ? null
                      : <button type="button" data-do="rollback">Roll back to this</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      <pre id="version-diff" class="diff" hidden></pre>
    </Layout>,
  );
}

function versionText(version: number | null): string {
  return version === null ? "-" : `v${version}`;
}

/** The rows of every agent the store knows. */
export async function agentConfigRows(
  store: Store,
  central: CentralConfig,
): Promise<AgentConfigRow[]> {
  const [agents, applied] = await Promise.all([store.listAgents(), central.store.allApplied()]);
  return await Promise.all(agents.map(async (agent) => ({
    site: agent.site,
    host: agent.host,
    ...(agent.environment === undefined ? {} : { environment: agent.environment }),
    desired: await central.desiredVersion(agent),
    applied: applied.get(`${agent.site}/${agent.host}`) ?? null,
  })));
}

/** The config page's route, to mount at `/`. */
export function configPageRoutes(
  deps: { store: Store; central: CentralConfig },
): Hono<CollectorEnv> {
  const app = new Hono<CollectorEnv>();
  app.get("/config", async (c) => {
    const user = signedIn(c);
    const { central } = deps;
    const versions = await central.versions();
    const head = versions.at(-1)?.version ?? 0;
    const [agents, webhooks, docs] = await Promise.all([
      agentConfigRows(deps.store, central),
      central.webhooks(),
      central.store.documents(head),
    ]);
    const documents = [...docs].map(([scope, doc]) => ({ scope, ...doc }));
    return c.html(renderConfigPage({ head, agents, webhooks, documents, versions }, user));
  });
  return app;
}
