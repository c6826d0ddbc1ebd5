#!/usr/bin/env node
/**
 * The `lameduck` command. `lameduck run [--port N] [--host H] [--handover fd|reuseport]
 * [--workers N|auto] [--stop-timeout MS] [--ready-timeout MS] [--pid-file PATH] [--log text|json]
 * [--force] -- <command>` restarts
 * a service with no refused or reset request: the port outlives every worker (one inherited
 * socket, or `SO_REUSEPORT` listeners), and a new worker is ready before an old one stops (see
 * docs/restarts.md). `lameduck status [--pid-file PATH] [--json]` asks a running one.
 *
 * Runs on Node (24 here; 20.19 or later): only Node can bind a socket without accepting on it.
 * The worker command can be any runtime: `serve()` adopts the inherited socket on Deno, Bun
 * and Node.
 *
 * ```sh
 * node node_modules/lameduck/src/supervisor/cli.js run --port 8000 -- bun server.ts
 * ./node_modules/.bin/lameduck run --pid-file lameduck.pid --port 8000 -- node server.ts
 * kill -HUP "$(cat lameduck.pid)"   # zero-downtime restart
 * ./node_modules/.bin/lameduck status
 * ```
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import process from "node:process";
import { type Invocation, parseCommandLine, USAGE } from "./args.ts";
import { supervise } from "./supervisor.ts";

const argv = process.argv.slice(2);
let invocation: Invocation;
try {
  invocation = parseCommandLine(argv);
} catch (error) {
  // Named by its command, as the supervisor's own lines are (`lameduck run: ...`).
  const command = argv[0] === "run" || argv[0] === "status" ? `lameduck ${argv[0]}` : "lameduck";
  console.error(`${command}: ${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (invocation.kind === "help" || invocation.kind === "version") {
  console.log(invocation.text);
  process.exit(0);
}
if (invocation.kind === "status") {
  const { status } = await import("./status_command.ts");
  process.exit(await status(invocation.options));
}
if ("Deno" in globalThis || "Bun" in globalThis) {
  console.error(
    "lameduck run: runs on Node only (it binds without accepting); workers may be any runtime",
  );
  process.exit(2);
}
const options = invocation.options;
if (isIP(options.host) === 0) {
  // A host name: bind its first address (the socket layer takes numeric addresses only).
  try {
    options.host = (await lookup(options.host)).address;
  } catch (error) {
    console.error(
      `lameduck run: Invalid --host: cannot resolve "${options.host}" ` +
        `(${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
    process.exit(2);
  }
}
process.exit(await supervise(options));
