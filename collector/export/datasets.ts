/**
 * The datasets for analysts, in one list: the API (`GET /api/v1/export/<name>`), the CLI
 * (`scriptmon-collector export <name>`), the PostgreSQL views (`analytics.<name>`) and the
 * README read it.
 *
 * @module
 */

import { CONFIG_CHANGES } from "./config_changes.ts";
import type { Dataset } from "./dataset.ts";
import { INCIDENTS } from "./incidents.ts";
import { NOTIFICATIONS } from "./notifications.ts";
import { UPTIME_DAYS } from "./uptime_days.ts";

/** Every dataset, in the order the docs list them. */
export const DATASETS: readonly Dataset[] = [UPTIME_DAYS, INCIDENTS, NOTIFICATIONS, CONFIG_CHANGES];

/** The dataset named `name`, or undefined. */
export function findDataset(name: string): Dataset | undefined {
  return DATASETS.find((dataset) => dataset.name === name);
}

/** `uptime_days, incidents, notifications, config_changes`, for messages. */
export function datasetNames(): string {
  return DATASETS.map((dataset) => dataset.name).join(", ");
}
