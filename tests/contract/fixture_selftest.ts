/**
 * The contract fixture's selftest mode (contract cases 13 and 14): in-process API checks of
 * `serve()`, written as one `check` line each: invalid options, `shutdown()` twice, `close()`
 * after `shutdown()`, `await using`, and `ready` rejecting on a taken port.
 *
 * @module
 */

import net from "node:net";
import process from "node:process";
import type { ServeOptions, Server } from "../../mod.ts";
import { sleep, within } from "../shared/time.ts";
import { emit } from "./fixture_output.ts";
import { INVALID_OPTIONS, MISSING } from "./invalid_options.ts";

type Serve = (options: ServeOptions) => Server;

const quiet = {
  port: 0,
  hostname: "127.0.0.1",
  signals: false,
  logger: false,
  exit: false,
} as const;
const hello = (): Response => new Response("hello");

async function check(name: string, body: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    const result = await within(body(), 8_000, name);
    emit({ event: "check", check: name, ...result });
  } catch (error) {
    emit({ event: "check", check: name, failure: String(error) });
  }
}

function invalidOptions(serve: Serve): void {
  for (const row of INVALID_OPTIONS) {
    const options: Record<string, unknown> = { ...quiet, fetch: hello };
    if (row.value === MISSING) delete options[row.option];
    else options[row.option] = row.value;
    try {
      const s = serve(options as unknown as ServeOptions);
      s.finished.catch(() => {});
      s.ready.catch(() => {});
      s.close().catch(() => {});
      emit({ event: "check", check: "invalid-option", label: row.label, threw: false });
    } catch (error) {
      const e = error as Error;
      emit({
        event: "check",
        check: "invalid-option",
        label: row.label,
        threw: true,
        errorName: e?.constructor?.name ?? typeof error,
        isTypeOrRangeError: error instanceof TypeError || error instanceof RangeError,
        message: String(e?.message ?? error),
      });
    }
  }
}

async function shutdownTwice(serve: Serve): Promise<Record<string, unknown>> {
  const s = serve({ ...quiet, fetch: hello });
  await s.ready;
  const first = s.shutdown();
  const second = s.shutdown({ reason: "second call" });
  const report = await within(first, 3_000, "shutdown()");
  const third = s.shutdown();
  const finished = await within(s.finished, 3_000, "finished");
  return {
    sameSecond: first === second,
    sameAfterClosed: first === third,
    finishedSameReport: finished === report,
    state: s.state,
    report,
  };
}

async function closeAfterShutdown(serve: Serve): Promise<Record<string, unknown>> {
  let ctxAborted = false;
  let entered!: () => void;
  const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
  const s = serve({
    ...quiet,
    drainTimeout: 10_000,
    fetch: (_request, ctx) => {
      ctx.signal.addEventListener("abort", () => (ctxAborted = true), { once: true });
      entered();
      return new Promise<Response>(() => {});
    },
  });
  const address = await s.ready;
  const client = fetch(`http://127.0.0.1:${address.port}/hang`).then(
    (r) => `status ${r.status}`,
    (e) => `error: ${String(e)}`,
  );
  await within(enteredPromise, 3_000, "the handler to be entered");
  const graceful = s.shutdown();
  let gracefulSettledEarly = false;
  graceful.then(() => (gracefulSettledEarly = true), () => (gracefulSettledEarly = true));
  await sleep(150);
  const stateBeforeClose = s.state;
  const settledBeforeClose = gracefulSettledEarly;
  const t0 = performance.now();
  const closeReport = await within(s.close(), 3_000, "close()");
  const closeMs = performance.now() - t0;
  const shutdownReport = await within(graceful, 3_000, "the shutdown() promise after close()");
  const clientOutcome = await within(client, 3_000, "the client").catch((e) => String(e));
  return {
    stateBeforeClose,
    settledBeforeClose,
    closeMs,
    closeReport,
    shutdownReport,
    ctxAborted,
    stateAfter: s.state,
    clientOutcome,
  };
}

async function awaitUsing(serve: Serve): Promise<Record<string, unknown>> {
  const { usingScope } = await import("./using_scope.ts");
  return { ...(await usingScope(serve)) };
}

function listenBlocker(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const blocker = net.createServer();
    blocker.once("error", reject);
    blocker.listen(0, "127.0.0.1", () => resolve(blocker));
  });
}

async function readyOutcome(serve: Serve, port: number): Promise<string> {
  let s: Server;
  try {
    s = serve({ ...quiet, port, fetch: hello });
  } catch (error) {
    return `serve() threw: ${String(error)}`;
  }
  s.finished.catch(() => {});
  const outcome = await within(
    s.ready.then(
      (a) => `resolved: ${JSON.stringify(a)}`,
      (e) => `rejected: ${String(e)}`,
    ),
    3_000,
    "ready to settle",
  ).catch((e) => String(e));
  if (outcome.startsWith("resolved")) await within(s.close(), 2_000, "close").catch(() => {});
  return outcome;
}

async function readyRejects(serve: Serve): Promise<Record<string, unknown>> {
  const blocker = await listenBlocker();
  const port = (blocker.address() as net.AddressInfo).port;
  const byNetServer = await readyOutcome(serve, port);
  await new Promise<void>((resolve) => blocker.close(() => resolve()));

  const first = serve({ ...quiet, fetch: hello });
  const { port: taken } = await first.ready;
  const byLameduck = await readyOutcome(serve, taken);
  await within(first.close(), 2_000, "close").catch(() => {});
  return { byNetServer, byLameduck };
}

/** Runs every check, writes `selftest-done` and exits 0 (failures are `check` lines). */
export async function selftest(serve: Serve): Promise<void> {
  invalidOptions(serve);
  await check("shutdown-twice", () => shutdownTwice(serve));
  await check("close-after-shutdown", () => closeAfterShutdown(serve));
  await check("await-using", () => awaitUsing(serve));
  await check("ready-rejects", () => readyRejects(serve));
  emit({ event: "selftest-done" });
  process.exit(0);
}
