/**
 * The framework cases (cases.ts) for fastify: Fastify's `app.routing` as `listener`, after `await app.ready()`, on Node.
 *
 * @module
 */

import { frameworkCases } from "./cases.ts";

frameworkCases("fastify", ["node"]);
