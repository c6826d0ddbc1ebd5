/**
 * The framework cases (cases.ts) for koa: Koa's `app.callback()` as `listener`, on Node.
 *
 * @module
 */

import { frameworkCases } from "./cases.ts";

frameworkCases("koa", ["node"]);
