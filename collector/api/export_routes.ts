/**
 * Exports for analysts under `/api/v1`: `GET /export/<dataset>?format=jsonl|csv&since=&until=`
 * streams one of the datasets of `collector/export/` (the same columns as the PostgreSQL views
 * `analytics.<dataset>`), a page of the store at a time. A caller of some sites gets the rows of
 * those sites (`?site=` narrows to one); `config_changes` covers the fleet and is for admins of
 * every site (`access.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { getLogger } from "@logtape/logtape";
import { siteScope } from "../auth/access.ts";
import type { CollectorEnv } from "../auth/authenticate.ts";
import type { Clock } from "../clock.ts";
import {
  CONTENT_TYPES,
  datasetNames,
  EXPORT_FORMATS,
  exportSource,
  exportStream,
  exportWindow,
  findDataset,
} from "../export/mod.ts";
import { HttpError } from "../http/http_error.ts";
import { queryEnum, queryTime } from "../http/request.ts";
import type { Store } from "../store/store.ts";

const log = getLogger(["scriptmon", "collector", "api"]);

/** The export route, to mount at `/api/v1`. */
export function exportRoutes(deps: { store: Store; clock: Clock }): Hono<CollectorEnv> {
  const source = exportSource(deps.store);
  const app = new Hono<CollectorEnv>();

  app.get("/export/:dataset", (c) => {
    const name = c.req.param("dataset");
    const dataset = findDataset(name);
    if (dataset === undefined) {
      throw new HttpError(
        404,
        `No dataset ${JSON.stringify(name)}: expected one of ${datasetNames()}`,
      );
    }
    const format = queryEnum(c, "format", EXPORT_FORMATS, "jsonl");
    const since = queryTime(c, "since");
    const until = queryTime(c, "until");
    let window;
    try {
      window = exportWindow({
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
      }, deps.clock.now());
    } catch (error) {
      if (error instanceof RangeError) throw new HttpError(400, error.message, { cause: error });
      throw error;
    }
    const scope = siteScope(c);
    if (dataset.allSites && scope.sites !== undefined) {
      // access.ts refuses it first; kept here so that a rule changed there cannot leak it.
      throw new HttpError(
        403,
        `${dataset.name} covers every site: it needs a caller of every site`,
      );
    }
    if (dataset.allSites && scope.site !== undefined) {
      throw new HttpError(400, `site: ${dataset.name} covers every site; leave site out`);
    }
    const sites = scope.site === undefined ? scope.sites : [scope.site];
    const { body } = exportStream(dataset, source, {
      ...window,
      ...(sites === undefined ? {} : { sites }),
    }, {
      format,
      onError: (error) =>
        log.error("Export of {dataset} failed part way: {error}", { dataset: name, error }),
    });
    return c.body(body, 200, {
      "Content-Type": CONTENT_TYPES[format],
      "Content-Disposition": `attachment; filename="${dataset.name}.${format}"`,
    });
  });

  return app;
}
