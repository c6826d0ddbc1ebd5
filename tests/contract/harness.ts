/**
 * The contract suite's helpers, by role (this module only re-exports them):
 * - runtimes.ts: the runtimes, their pinned binaries, `LAMEDUCK_RUNTIMES`;
 * - fixture_process.ts: spawn a fixture program and read its JSON event lines;
 * - raw_http.ts: raw HTTP/1.1 over one socket;
 * - pool.ts: a keep-alive client pool;
 * - ../shared/time.ts: `now`, `sleep`, `within`.
 *
 * @module
 */

export type { FixtureConfig, TortureConfig } from "../shared/fixture_config.ts";
export { now, sleep, within } from "../shared/time.ts";
export {
  type Exit,
  type Fixture,
  type FixtureEvent,
  killLeftovers,
  start,
} from "./fixture_process.ts";
export { createPool, type Pool, type PoolResult } from "./pool.ts";
export {
  type CloseKind,
  RawConnection,
  rawRequest,
  type RawResponse,
  tryConnect,
} from "./raw_http.ts";
export { binaryOf, ROOT, type RuntimeName, RUNTIMES, selectedRuntimes } from "./runtimes.ts";
