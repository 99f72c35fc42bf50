import assert from "node:assert/strict";
import { Hono } from "hono";
import type { MessageRecord } from "../../shared/notify/types.ts";
import type { CollectorEnv, SessionUser } from "../auth/authenticate.ts";
import { Store } from "../store/store.ts";
import { pageRoutes, type PagesAlerting, pagesAlerting } from "./pages.ts";

const HOSTILE = "<img src=x onerror=alert(1)>";
const NOW = Date.parse("2026-12-01T12:00:00Z");

function user(sites: string[] | null): SessionUser {
  const at = new Date(NOW).toISOString();
  return {
    name: "vera",
    role: "viewer",
    sites,
    sessionHash: "h",
    session: { user: "vera", csrf: "c", createdAt: at, lastSeenAt: at, expiresAt: at },
  };
}

function message(id: string, site: string, overrides: Partial<MessageRecord> = {}): MessageRecord {
  const at = new Date(NOW - Number(id) * 60_000).toISOString();
  return {
    id,
    channel: "ops",
    dedupeKey: id,
    payload: {
      type: "alert",
      alert: {
        rule: "script-down",
        severity: "critical",
        status: "firing",
        title: `rates is down on ${site} ${HOSTILE}`,
        text: "",
        site,
        host: "ws-01",
        at,
        episode: "e",
      },
    },
    state: "sent",
    createdAt: at,
    updatedAt: at,
    attempts: 1,
    providerStatus: 200,
    providerAnswer: `ok ${HOSTILE}`,
    history: [],
    ...overrides,
  };
}

/** The page routes with `viewer` signed in, over a fake outbox holding `messages`. */
async function withPages(
  messages: MessageRecord[],
  sites: string[] | null,
  fn: (request: (path: string) => Promise<Response>, filters: unknown[]) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    const filters: unknown[] = [];
    const alerting: PagesAlerting = pagesAlerting({
      outbox: {
        list: (filter) => {
          filters.push(filter);
          return Promise.resolve(
            messages.filter((m) =>
              (filter.state === undefined || m.state === filter.state) &&
              (filter.channel === undefined || m.channel === filter.channel)
            ),
          );
        },
      },
      rules: {
        silences: () => [{ id: "s-1", match: { site: "BFI4" }, until: "2026-12-02T00:00:00Z" }],
      },
    }, {
      silences: () => [
        { id: "old", match: { site: "BFI4" }, until: "2026-11-01T00:00:00Z" },
        { id: "cfg", match: { script: "rates" }, until: "2027-01-01T00:00:00Z" },
      ],
      now: () => NOW,
    });
    const app = new Hono<CollectorEnv>();
    app.use("*", async (c, next) => {
      c.set("user", user(sites));
      await next();
    });
    app.route("/", pageRoutes({ store: new Store(kv), clock: { now: () => NOW }, alerting }));
    await fn(async (path) => await app.request(path), filters);
    assert.deepEqual(
      alerting.silences().map((s) => [s.id, s.source]),
      [["cfg", "config"], ["s-1", "api"]],
      "expired config silences are left out",
    );
  } finally {
    kv.close();
  }
}

Deno.test("the notifications page lists messages with state and provider answer, agent text escaped", async () => {
  await withPages(
    [message("1", "BFI4"), message("2", "DEN1", { state: "failed", channel: "night" })],
    null,
    async (request) => {
      const html = await (await request("/notifications")).text();
      assert.ok(!html.includes(HOSTILE));
      assert.ok(html.includes("rates is down on BFI4 &lt;img src=x onerror=alert(1)&gt;"));
      assert.ok(html.includes("HTTP 200 ok &lt;img"));
      assert.match(html, /<span class="badge bad">failed<\/span>/);
      assert.match(html, /<option [^>]*value="night"/);
    },
  );
});

Deno.test("the notifications page filters by site, state, channel and time", async () => {
  const messages = [
    message("1", "BFI4"),
    message("2", "DEN1", { state: "failed" }),
    message("90", "BFI4"),
  ];
  await withPages(messages, null, async (request, filters) => {
    const bySite = await (await request("/notifications?site=DEN1")).text();
    assert.ok(bySite.includes("on DEN1") && !bySite.includes("on BFI4"));
    const byState = await (await request("/notifications?state=failed")).text();
    assert.ok(byState.includes("on DEN1") && !byState.includes("on BFI4"));
    const byTime =
      await (await request("/notifications?since=2026-12-01T11:30&until=2026-12-01T11:59")).text();
    assert.equal(byTime.match(/<tr /g)?.length, 2, "the two in the window");
    assert.deepEqual(filters.at(-1), { since: "2026-12-01T11:30:00.000Z", limit: 5000 });
    await request("/notifications?channel=ops");
    assert.deepEqual(filters.at(-1), { channel: "ops", limit: 200 });
  });
});

Deno.test("a user of some sites sees only their sites' notifications", async () => {
  await withPages([message("1", "BFI4"), message("2", "DEN1")], ["DEN1"], async (request) => {
    const html = await (await request("/notifications")).text();
    assert.ok(html.includes("on DEN1") && !html.includes("on BFI4"));
  });
});

Deno.test("the alerts page lists the silences in force, from the config and the API", async () => {
  await withPages([], null, async (request) => {
    const html = await (await request("/alerts")).text();
    assert.match(html, /id="silences"/);
    assert.match(html, /script=rates/);
    assert.match(html, /config file/);
  });
});
