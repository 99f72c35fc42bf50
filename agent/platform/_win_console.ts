/**
 * Console control events, Windows' nearest thing to a stop signal. A script
 * the agent starts has its own (windowless) console, shared by every process
 * of its tree; a Ctrl-C or Ctrl-Break sent to that console reaches them all.
 * Only a process attached to a console can send to it, so the agent runs a
 * short-lived copy of itself (`ctrl-event <pid> <c|break>`) that detaches
 * from its own console, attaches to the script's, ignores the event itself,
 * and sends it.
 *
 * @module
 */

/** Which event: Ctrl-C (Python's KeyboardInterrupt) or Ctrl-Break (Python ends at once). */
export type CtrlEvent = "c" | "break";

/** The event a configured `stop_signal` becomes on Windows: SIGINT is Ctrl-C, the rest Ctrl-Break. */
export function ctrlEventFor(signal: Deno.Signal): CtrlEvent {
  return signal === "SIGINT" ? "c" : "break";
}

/** The kernel32 calls `sendCtrlEvent` makes, in order; tests record them. */
export interface ConsoleCalls {
  FreeConsole(): number;
  AttachConsole(pid: number): number;
  SetConsoleCtrlHandler(handler: null, add: number): number;
  GenerateConsoleCtrlEvent(event: number, group: number): number;
  GetLastError(): number;
}

/** CTRL_C_EVENT and CTRL_BREAK_EVENT. */
export const CTRL_EVENT_CODES: Record<CtrlEvent, number> = { c: 0, break: 1 };

/**
 * Sends `event` to every process on the console of `pid` (group 0: all of
 * them; Ctrl-C cannot be sent to a group). This process must not need its
 * own console afterwards.
 *
 * @throws {Error} naming the call that failed and Windows' error code.
 */
export function sendCtrlEvent(pid: number, event: CtrlEvent, calls = kernel32Console()): void {
  calls.FreeConsole();
  if (!calls.AttachConsole(pid)) {
    throw new Error(
      `Cannot attach to the console of pid ${pid} (Windows error ${calls.GetLastError()})`,
    );
  }
  // The event reaches this process too: ignore it here.
  calls.SetConsoleCtrlHandler(null, 1);
  if (!calls.GenerateConsoleCtrlEvent(CTRL_EVENT_CODES[event], 0)) {
    throw new Error(
      `Cannot send Ctrl-${
        event === "c" ? "C" : "Break"
      } to pid ${pid} (Windows error ${calls.GetLastError()})`,
    );
  }
}

function kernel32Console(): ConsoleCalls {
  const lib = Deno.dlopen("kernel32.dll", {
    FreeConsole: { parameters: [], result: "i32" },
    AttachConsole: { parameters: ["u32"], result: "i32" },
    SetConsoleCtrlHandler: { parameters: ["pointer", "i32"], result: "i32" },
    GenerateConsoleCtrlEvent: { parameters: ["u32", "u32"], result: "i32" },
    GetLastError: { parameters: [], result: "u32" },
  });
  return lib.symbols;
}
