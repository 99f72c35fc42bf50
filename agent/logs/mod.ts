/**
 * Script output: the line splitter over both pipes, the rotating log writer (rename and reopen,
 * never copy-then-truncate), the tail reader and the collector's log requests.
 *
 * @module
 */

export { pumpLines } from "./line_splitter.ts";
export { readLogsAnswer } from "./request.ts";
export { followLog, readLastLines } from "./tail.ts";
export { capLogFolder, type FolderCapResult } from "./folder_cap.ts";
export { listLogFiles, RotatingLogWriter } from "./writer.ts";
export type { LogStream } from "./writer.ts";
