/**
 * A TypeScript consumer of the npm package: tests/package/ type-checks it against the installed
 * tarball with `moduleResolution` `nodenext` and `bundler`, without skipLibCheck, so a type the
 * package forgets to export or a `.d.ts` that needs the sources fails here.
 *
 * @module
 */

import { serve } from "lameduck";
import type { LifecycleEvent, RequestContext, Server, ShutdownReport } from "lameduck";

function handler(request: Request, ctx: RequestContext): Response {
  const { hostname, port } = ctx.remoteAddr;
  if (ctx.shutdown.aborted) return new Response("bye", { status: 503 });
  return new Response(`${request.method} from ${hostname}:${port}`);
}

const server: Server = serve({
  fetch: handler,
  port: 0,
  hostname: "127.0.0.1",
  readiness: "/readyz",
  lameDuck: 1_000,
  drainTimeout: 5_000,
  maxInFlight: 1_000,
  signals: ["SIGTERM"],
  logger: (event: LifecycleEvent) => console.log(event.type),
  onError: () => new Response("oops", { status: 500 }),
});
const registration = server.onShutdown(async () => {}, { name: "db", timeout: 1_000 });
registration[Symbol.dispose]();
const { url } = await server.ready;
console.log(url, server.runtime, server.state, server.inFlight, server.signal.aborted);
const report: ShutdownReport = await server.shutdown({ reason: "test" });
console.log(report.graceful, report.completed, report.aborted, report.hooks.length);
await server[Symbol.asyncDispose]();
