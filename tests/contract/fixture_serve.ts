/**
 * The contract fixture's serve mode: `serve()` the Hono app with the driver's options, log every
 * lifecycle event as a `log` line, register the configured hooks, and report `ready` and
 * `finished`.
 *
 * @module
 */

import process from "node:process";
import type { LifecycleEvent, ServeOptions, Server } from "../../mod.ts";
import type { FixtureConfig, HookSpec } from "../shared/fixture_config.ts";
import { sleep } from "../shared/time.ts";
import { createApp, loadConnInfo } from "./fixture_app.ts";
import { emit } from "./fixture_output.ts";
import { addRequestRoutes, startUpstream } from "./fixture_request.ts";
import { addSendRoutes } from "./fixture_send.ts";

type Serve = (options: ServeOptions) => Server;

function makeHook(spec: HookSpec, server: Server): () => Promise<void> {
  return async () => {
    emit({ event: "hook-run", name: spec.name, inFlight: server.inFlight, state: server.state });
    if (spec.kind === "throw") throw new Error(`hook ${spec.name} failed on purpose`);
    if (spec.kind === "hang") return new Promise<void>(() => {});
    if (spec.ms) await sleep(spec.ms);
    emit({ event: "hook-done", name: spec.name });
  };
}

/** The `onError` option a config names (see {@linkcode FixtureConfig}). */
function onErrorOf(
  kind: FixtureConfig["onError"],
): Pick<ServeOptions, "onError"> {
  if (kind === "teapot") {
    return {
      onError: (error: unknown) => {
        emit({ event: "on-error", error: String(error) });
        return new Response(`onError: ${(error as Error)?.message ?? String(error)}`, {
          status: 418,
          headers: { "x-on-error": "teapot" },
        });
      },
    };
  }
  if (kind === "unsendable") {
    return { onError: () => new Response("never sent", { headers: { "x-bad": "a\x01b" } }) };
  }
  if (kind === "throw") {
    return {
      onError: () => {
        throw new Error("onError itself failed on purpose");
      },
    };
  }
  return {};
}

/** Serves the fixture app with `config`; writes `ready` (or `ready-rejected` and exits 2). */
export async function serveMode(serve: Serve, config: FixtureConfig): Promise<void> {
  const {
    mode: _mode,
    hooks = [],
    trace = false,
    onError,
    onErrorText,
    readinessChecks,
    jsonLogger,
    ...passThrough
  } = config;
  const { app, attach, websocket } = createApp({ trace });
  const checks = { db: "ok", slowMs: 0, runs: 0 };
  app.get("/check", (c) => {
    checks.db = c.req.query("db") ?? checks.db;
    checks.slowMs = Number(c.req.query("slowMs") ?? checks.slowMs);
    return c.json(checks);
  });
  let upstreamPort = 0;
  addRequestRoutes(app, () => upstreamPort);
  addSendRoutes(app);
  const options = {
    port: 0,
    hostname: "127.0.0.1",
    ...passThrough,
    ...onErrorOf(onError),
    ...(onErrorText
      ? { onError: (error: unknown) => new Response(`onError: ${String(error)}`, { status: 500 }) }
      : {}),
    ...(websocket ? { websocket } : {}),
    ...(readinessChecks
      ? {
        readiness: {
          path: "/readyz",
          timeout: readinessChecks.timeout,
          checks: {
            db: () => {
              if (checks.db !== "ok") throw new Error(checks.db);
            },
            slow: async () => {
              checks.runs++;
              await sleep(checks.slowMs);
            },
          },
        },
      }
      : {}),
    fetch: app.fetch,
    logger: jsonLogger ? "json" : (e: LifecycleEvent) => {
      const { type, ...rest } = e;
      emit({ event: "log", type, ...rest });
    },
  } as ServeOptions;
  const s = serve(options);
  s.signal.addEventListener(
    "abort",
    () => emit({ event: "server-signal", state: s.state, inFlight: s.inFlight }),
    { once: true },
  );
  for (const spec of hooks) {
    s.onShutdown(makeHook(spec, s), {
      name: spec.name,
      ...(spec.timeout === undefined ? {} : { timeout: spec.timeout }),
    });
  }
  s.finished.then(
    (report) => emit({ event: "finished", report }),
    (error) => emit({ event: "finished-rejected", error: String(error) }),
  );
  attach(s, await loadConnInfo(s.runtime));
  upstreamPort = await startUpstream();
  try {
    const address = await s.ready;
    emit({
      event: "ready",
      port: address.port,
      hostname: address.hostname,
      url: address.url,
      runtime: s.runtime,
      upstreamPort,
    });
  } catch (error) {
    emit({ event: "ready-rejected", error: String(error) });
    process.exit(2);
  }
}
