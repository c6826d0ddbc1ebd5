/**
 * The framework cases (cases.ts) for express: the Express app as `listener`, on Node, Bun and Deno.
 *
 * @module
 */

import { frameworkCases } from "./cases.ts";

frameworkCases("express", ["node", "bun", "deno"]);
