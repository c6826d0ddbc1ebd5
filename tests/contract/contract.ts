/**
 * The cross-runtime contract of lameduck (README.md, "The shutdown sequence"), as one suite that
 * `defineContract(runtime)` registers for a runtime. Each test spawns the fixture program
 * (tests/contract/fixture/main.ts) on that runtime and talks to it over real sockets;
 * `deno_test.ts`, `bun_test.ts` and `node_test.ts` call it, so `node --test` can run the
 * runtimes in separate processes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, describe, test } from "node:test";
import { binaryOf, type RuntimeName } from "./runtimes.ts";
import { killLeftovers } from "./fixture_process.ts";
import { forRuntime } from "./runtime_selection.ts";
import { apiCases } from "./cases_api.ts";
import { deadlineCases } from "./cases_deadline.ts";
import { exitCases } from "./cases_exit.ts";
import { featureCases } from "./cases_features.ts";
import { keepAliveCases } from "./cases_keepalive.ts";
import { listenerCases } from "./cases_listener.ts";
import { listenerDrainCases } from "./cases_listener_drain.ts";
import { listenerPathCases } from "./cases_listener_paths.ts";
import { pathCases } from "./cases_paths.ts";
import { probeCases } from "./cases_probes.ts";
import { promiseCases } from "./cases_promises.ts";
import { requestCases } from "./cases_request.ts";
import { sendCases } from "./cases_send.ts";
import { urlCases } from "./cases_url.ts";

/**
 * Registers the whole contract for `runtime`; when LAMEDUCK_RUNTIMES leaves it out, a test that
 * says so instead (failing unless LAMEDUCK_PARTIAL=1, see runtime_selection.ts).
 */
export function defineContract(runtime: RuntimeName): void {
  forRuntime(runtime, "the contract", () => defineFor(runtime));
}

function defineFor(runtime: RuntimeName): void {
  describe(`lameduck on ${runtime}`, () => {
    after(killLeftovers);

    test(`the ${runtime} binary is installed`, () => {
      assert.ok(existsSync(binaryOf(runtime)), `missing ${binaryOf(runtime)}`);
    });

    exitCases(runtime);
    deadlineCases(runtime);
    featureCases(runtime);
    probeCases(runtime);
    keepAliveCases(runtime);
    promiseCases(runtime);
    apiCases(runtime);
    requestCases(runtime);
    sendCases(runtime);
    pathCases(runtime);
    urlCases(runtime);
    listenerCases(runtime);
    listenerDrainCases(runtime);
    listenerPathCases(runtime);
  });
}
