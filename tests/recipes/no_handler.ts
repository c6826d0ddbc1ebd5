/**
 * A process that installs no signal handler and stays alive: what a server without lameduck (or
 * before `serve()` ran) looks like to a signal. Writes `up` on stdout once running.
 *
 * @module
 */

import process from "node:process";

setInterval(() => {}, 1000);
process.stdout.write("up\n");
