/**
 * The framework cases (cases.ts) for nest: NestJS's Express instance as `listener`, after `await app.init()`, on Node.
 *
 * @module
 */

import { frameworkCases } from "./cases.ts";

frameworkCases("nest", ["node"]);
