/**
 * Bare `Deno.serve` (no lameduck) answering one request with a field value that holds the
 * character `FIELD_BYTE` (a number): prints `served <status>` and exits 0, unless Deno dies.
 * The regression test of the workaround in src/adapters/native_send.ts (cases_send.ts).
 *
 * @module
 */

const Deno = (globalThis as unknown as {
  Deno: {
    env: { get(name: string): string | undefined };
    exit(code: number): never;
    serve(
      options: { port: number; hostname: string; onListen(a: { port: number }): void },
      handler: () => Response,
    ): unknown;
  };
}).Deno;

const byte = Number(Deno.env.get("FIELD_BYTE"));
Deno.serve({
  port: 0,
  hostname: "127.0.0.1",
  onListen: async ({ port }) => {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    await response.body?.cancel();
    console.log(`served ${response.status}`);
    Deno.exit(0);
  },
}, () => new Response("x", { headers: { "x-field": `a${String.fromCharCode(byte)}b` } }));
