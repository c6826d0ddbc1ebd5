/**
 * Contract cases: Pooled keep-alive clients across SIGTERM (contract case 12).
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { createPool } from "./client_pool.ts";
import type { RuntimeName } from "./runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import { exitOf, withFixture } from "./fixture_process.ts";

/** Registers these cases for `runtime` (inside its describe block). */
export function keepAliveCases(runtime: RuntimeName): void {
  // 12a
  test("32 pooled keep-alive clients polling readiness lose no request across SIGTERM with lameDuck 1000", async () => {
    await withFixture(
      runtime,
      { readiness: "/readyz", lameDuck: 1_000, drainTimeout: 5_000 },
      async (fx) => {
        const pool = createPool(fx.port, 32);
        let notReady = false;
        let signalled = false;
        const failures: string[] = [];
        let ok = 0;
        let okAfterSignal = 0;
        let toldClose = 0;
        let notSent = 0;
        const client = async (id: number) => {
          for (let n = 0;; n++) {
            const path = n % 8 === id % 8 ? "/readyz" : "/fast";
            if (notReady && pool.freeSockets() === 0) {
              notSent++; // a load balancer opens no new connection to a backend that is not ready
              return;
            }
            const r = await pool.get(path);
            if (!r.ok) {
              failures.push(
                `${path} ${r.code} (${r.reused ? "reused" : "new"} connection): ${r.message}`,
              );
              return;
            }
            if (path === "/readyz") {
              if (r.status === 503) notReady = true;
              else if (r.status !== 200) failures.push(`/readyz answered ${r.status}`);
            } else if (r.status !== 200) {
              failures.push(`/fast answered ${r.status}`);
            } else {
              ok++;
              if (signalled) okAfterSignal++;
            }
            if (r.headers.connection?.toLowerCase() === "close") {
              toldClose++;
              return;
            }
          }
        };
        const clients = Array.from({ length: 32 }, (_, i) => client(i));
        await sleep(700);
        signalled = true;
        fx.signal("SIGTERM");
        await within(Promise.all(clients), 10_000, "every client to stop");
        const exit = await exitOf(fx, 10_000);
        pool.destroy();
        console.log(
          `case12-lb ${runtime}: ok=${ok} ok-after-signal=${okAfterSignal} told-close=${toldClose} not-sent=${notSent} failures=${failures.length} exit=${exit.code}`,
        );
        assert.deepEqual(failures, [], "failed requests");
        // Load, not throughput, is the point: requests were served on both sides of SIGTERM.
        assert.ok(ok - okAfterSignal >= 32, `only ${ok - okAfterSignal} requests before SIGTERM`);
        assert.ok(okAfterSignal >= 1, "no request was served after SIGTERM: nothing was tested");
        assert.ok(toldClose >= 1, "no response said Connection: close");
        assert.equal(exit.code, 0, fx.describe());
      },
    );
  });

  // 12b
  test("aggressive keep-alive clients that reconnect at once (lameDuck 0): counts are printed, the process exits", async () => {
    await withFixture(runtime, { drainTimeout: 5_000 }, async (fx) => {
      const pool = createPool(fx.port, 32);
      let exited = false;
      fx.exited.then(() => (exited = true));
      let ok = 0;
      let reusedFailures = 0;
      let connectFailures = 0;
      let toldClose = 0;
      const codes: Record<string, number> = {};
      const client = async () => {
        while (!exited) {
          const r = await pool.get("/fast");
          if (r.ok) {
            if (r.status === 200) ok++;
            else codes[`status ${r.status}`] = (codes[`status ${r.status}`] ?? 0) + 1;
            if (r.headers.connection?.toLowerCase() === "close") toldClose++;
            continue;
          }
          if (exited) return;
          const key = `${r.reused ? "reused" : "new"}:${r.code}`;
          codes[key] = (codes[key] ?? 0) + 1;
          if (r.reused) {
            reusedFailures++; // reconnect at once
          } else {
            connectFailures++; // refused or reset on a fresh connection: this client gives up
            return;
          }
        }
      };
      const clients = Array.from({ length: 32 }, () => client());
      await sleep(700);
      fx.signal("SIGTERM");
      const exit = await exitOf(fx, 10_000);
      await within(Promise.all(clients), 10_000, "every client to stop");
      pool.destroy();
      console.log(
        `case12-aggressive ${runtime}: reused-failures=${reusedFailures} connect-failures=${connectFailures} ok=${ok} told-close=${toldClose} exit=${exit.code} ${
          JSON.stringify(codes)
        }`,
      );
      assert.ok(ok >= 32, `only ${ok} requests succeeded: hardly any load`);
    });
  });
}
