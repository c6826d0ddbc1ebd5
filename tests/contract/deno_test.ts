/**
 * The lameduck contract on Deno: a thin entry so `node --test` runs each runtime in its own process.
 *
 * @module
 */

import { defineContract } from "./contract.ts";

defineContract("deno");
