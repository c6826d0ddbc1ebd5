/**
 * The contract suite's server program, run as a child process by each runtime:
 *
 *     deno run -A tests/contract/fixture.ts
 *     bun tests/contract/fixture.ts
 *     node tests/contract/fixture.ts        (Node 24: native type stripping)
 *
 * Configuration comes as JSON in the `FIXTURE` environment variable, typed by `FixtureConfig`
 * (tests/shared/fixture_config.ts): `mode: "serve"` (default, fixture_serve.ts, the Hono app of
 * fixture_app.ts) or `"selftest"` (fixture_selftest.ts), fixture switches, and `serve()` options.
 *
 * `LAMEDUCK_MODULE` (a URL) makes the fixture take `serve` from there instead of the sources:
 * tests/package/ points it at the npm package installed from its tarball.
 *
 * Output: one JSON object per line on stdout (fixture_output.ts): `ready`, `log` (every logger
 * event), `entered`, `aborted`, `cancel`, `hook-run`, `finished`, `check` (selftest), ...
 *
 * @module
 */

import process from "node:process";
import { type FixtureConfig, readFixtureConfig } from "../shared/fixture_config.ts";
import { serveMode } from "./fixture_serve.ts";
import { selftest } from "./fixture_selftest.ts";

const lameduck: typeof import("../../mod.ts") = process.env.LAMEDUCK_MODULE
  ? await import(process.env.LAMEDUCK_MODULE)
  : await import("../../mod.ts");

const config = readFixtureConfig<FixtureConfig>(process.env.FIXTURE);
if (config.mode === "selftest") await selftest(lameduck.serve);
else await serveMode(lameduck.serve, config);
