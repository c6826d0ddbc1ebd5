/**
 * The framework cases (cases.ts) for h3: h3's `app.fetch` as `fetch`, on Node, Bun and Deno.
 *
 * @module
 */

import { frameworkCases } from "./cases.ts";

frameworkCases("h3", ["node", "bun", "deno"]);
