/**
 * Builds the npm package into `npm/` (the role dnt plays in Deno projects): ESM JavaScript and
 * `.d.ts` compiled by the TypeScript compiler from the very sources JSR publishes
 * (`tsconfig.build.json`, `rewriteRelativeImportExtensions`), a generated `package.json`, the
 * README and the LICENSE. Nothing in `npm/` is edited by hand; it is rebuilt from scratch.
 *
 * Run: `npm run build:npm`, `deno task build:npm` (or `node scripts/build_npm.ts`). Prints the
 * package directory.
 * The proof that the result works is tests/package/ (pack, install, run the contract suite).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the package is written. */
export const OUT: string = join(ROOT, "npm");

/** Oldest Node the package supports; tests/package/ runs it on the machine's Node 20 too. */
const NODE_ENGINES = ">=20.19";

export interface DenoJson {
  version: string;
  license: string;
}

/** The generated package.json. */
export function manifest(deno: DenoJson): Record<string, unknown> {
  return {
    name: "lameduck",
    version: deno.version,
    description:
      "Serve a fetch handler on Node, Bun and Deno and shut it down (SIGTERM, deploys) without dropping a request",
    license: deno.license,
    type: "module",
    exports: {
      ".": { types: "./mod.d.ts", default: "./mod.js" },
      "./package.json": "./package.json",
    },
    bin: { lameduck: "./src/supervisor/cli.js" },
    main: "./mod.js",
    types: "./mod.d.ts",
    // docs/ and CHANGELOG.md: the README links to them, and relative links must resolve where
    // the README is read (an installed package, an editor); contributing/ is not shipped. No
    // `repository`, `homepage` or `bugs`: the project has no public repository URL yet, and a
    // made-up one would be a dead link.
    files: ["mod.js", "mod.d.ts", "src/", "docs/", "README.md", "CHANGELOG.md", "LICENSE"],
    sideEffects: false,
    engines: { node: NODE_ENGINES },
    keywords: [
      "graceful-shutdown",
      "sigterm",
      "http",
      "server",
      "fetch",
      "hono",
      "bun",
      "deno",
      "node",
      "kubernetes",
      "zero-downtime",
    ],
  };
}

/** Builds the package; returns its directory. Throws when the compiler fails. */
export function buildNpm(): string {
  const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as DenoJson;
  rmSync(OUT, { recursive: true, force: true });
  // The pinned Node runs tsc's script, whatever `node` is first on PATH (`node_modules/.bin/tsc`
  // is a `#!/usr/bin/env node` script).
  const node = join(ROOT, "node_modules", ".bin", "node");
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const compiled = spawnSync(node, [tsc, "-p", join(ROOT, "tsconfig.build.json")], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (compiled.status !== 0) {
    throw new Error(`tsc failed (${compiled.status}):\n${compiled.stdout}${compiled.stderr}`);
  }
  writeFileSync(join(OUT, "package.json"), JSON.stringify(manifest(deno), null, 2) + "\n");
  for (const file of ["README.md", "CHANGELOG.md", "LICENSE"]) {
    copyFileSync(join(ROOT, file), join(OUT, file));
  }
  cpSync(join(ROOT, "docs"), join(OUT, "docs"), { recursive: true });
  return OUT;
}

if (import.meta.main) {
  console.log(buildNpm());
}
