/**
 * Contract case 13, `await using`: kept in its own module so that a runtime that cannot parse
 * `await using` fails this one check (the fixture imports it dynamically), not the whole selftest.
 *
 * @module
 */

import type { ServeOptions, Server, ShutdownReport } from "../../mod.ts";

/** What the scope observed. */
export interface UsingResult {
  stateInScope: string;
  stateAfterScope: string;
  report: ShutdownReport;
  client: { status: number; body: string } | string;
  handlerFinished: boolean;
}

/**
 * Serves a 300 ms handler inside an `await using` scope, sends one request, leaves the scope
 * while the request is in flight, and reports what happened.
 */
export async function usingScope(serve: (options: ServeOptions) => Server): Promise<UsingResult> {
  let server!: Server;
  let clientPromise!: Promise<{ status: number; body: string } | string>;
  let stateInScope = "";
  let handlerFinished = false;
  {
    let entered!: () => void;
    const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
    await using s = serve({
      fetch: async () => {
        entered();
        await new Promise((resolve) => setTimeout(resolve, 300));
        handlerFinished = true;
        return new Response("scoped ok");
      },
      port: 0,
      hostname: "127.0.0.1",
      signals: false,
      logger: false,
      exit: false,
    });
    server = s;
    const address = await s.ready;
    clientPromise = fetch(`http://127.0.0.1:${address.port}/`).then(
      async (r) => ({ status: r.status, body: await r.text() }),
      (e) => `error: ${String(e)}`,
    );
    await enteredPromise;
    stateInScope = s.state;
  }
  const stateAfterScope = server.state;
  const report = await server.finished;
  const client = await clientPromise;
  return { stateInScope, stateAfterScope, report, client, handlerFinished };
}
