#!/usr/bin/env node
/**
 * The `lameduck` command. `lameduck run [--port N] [--host H] [--handover fd|reuseport]
 * [--workers N|auto] [--stop-timeout MS] [--ready-timeout MS] [--force] -- <command>` restarts
 * a service with no refused or reset request: the port outlives every worker (one inherited
 * socket, or `SO_REUSEPORT` listeners), and a new worker is ready before an old one stops (see
 * the README's "Zero-downtime restarts").
 *
 * Runs on Node (24 here; 20.19 or later): only Node can bind a socket without accepting on it.
 * The worker command can be any runtime: `serve()` adopts the inherited socket on Deno, Bun
 * and Node.
 *
 * ```sh
 * node node_modules/lameduck/src/supervisor/cli.js run --port 8000 -- bun server.ts
 * npx lameduck run --port 8000 -- deno run -A server.ts
 * kill -HUP <supervisor pid>   # zero-downtime restart
 * ```
 *
 * @module
 */

import process from "node:process";
import { parseRunArgs, USAGE } from "./args.ts";
import { supervise } from "./supervisor.ts";

const [command, ...rest] = process.argv.slice(2);
if (command === "run") {
  if ("Deno" in globalThis || "Bun" in globalThis) {
    console.error(
      "lameduck run: runs on Node only (it binds without accepting); workers may be any runtime",
    );
    process.exit(2);
  }
  let options;
  try {
    options = parseRunArgs(rest);
  } catch (error) {
    console.error(`lameduck run: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  process.exit(await supervise(options));
} else {
  const help = command === "--help" || command === "-h" || command === "help";
  (help ? console.log : console.error)(USAGE);
  process.exit(help ? 0 : 2);
}
