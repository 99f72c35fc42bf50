/**
 * HTTP building blocks every route uses: `HttpError`, request parsing with precise 400s, path
 * and size limits, CSV and xlsx answers.
 *
 * @module
 */

export { csvLine, toCsv } from "./csv.ts";
export { HttpError } from "./http_error.ts";
export { pathLimit } from "./path_limit.ts";
export {
  queryCursor,
  queryEnum,
  queryInt,
  queryText,
  queryTime,
  readBody,
  readForm,
} from "./request.ts";
export { toXlsx, XLSX_CONTENT_TYPE } from "./xlsx.ts";
