/**
 * A WebSocket client for the suites: the platform's `WebSocket`, opened on the fixture's `/ws`
 * echo route (fixture/app.ts). Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { within } from "../shared/time.ts";

/** Opens a WebSocket to `/ws` with the platform client and checks the echo route. */
export async function openEcho(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await within(
    new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("WebSocket failed to open"));
    }),
    5_000,
    "the WebSocket to open",
  );
  const echoed = new Promise<string>((resolve) => ws.onmessage = (e) => resolve(String(e.data)));
  ws.send("hi");
  assert.equal(await within(echoed, 5_000, "the echo"), "echo hi");
  return ws;
}
