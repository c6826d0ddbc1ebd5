/**
 * A lameduck server over HTTPS for `tls_test.ts`, on whatever runtime runs it. The PEM files
 * come from `TLS_CERT_FILE` and `TLS_KEY_FILE`; `GET /slow` prints `slow started` and answers after 400 ms. Prints
 * `ready <url>` once listening, or `failed <message>` when `ready` rejects.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { serve } from "../../mod.ts";

const server = serve({
  port: 0,
  hostname: "127.0.0.1",
  tls: {
    cert: readFileSync(process.env.TLS_CERT_FILE!, "utf8"),
    key: readFileSync(process.env.TLS_KEY_FILE!, "utf8"),
  },
  onListen: () => {},
  fetch: async (request) => {
    if (new URL(request.url).pathname === "/slow") {
      console.log("slow started");
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    return new Response(`secure ${new URL(request.url).protocol}`);
  },
});
server.ready.then(
  ({ url }) => console.log(`ready ${url}`),
  (error) => console.log(`failed ${error instanceof Error ? error.message : error}`),
);
