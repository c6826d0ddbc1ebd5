/**
 * The npm package proves itself: build it (`deno task build:npm`, which runs
 * scripts/build_npm.ts), `npm pack` it, install the
 * tarball into a throw-away project, then
 * - run the contract suite's Node cases against the installed package (`import "lameduck"`
 *   resolved through the package's `exports`, not the sources) on the pinned Node 24;
 * - import and serve with it on the machine's own Node (20.x) and on Bun;
 * - `require("lameduck")` where Node supports `require(esm)`;
 * - lint it with publint and @arethetypeswrong/cli;
 * - type-check tests/package/consumer.ts with `moduleResolution` `nodenext` and `bundler`.
 *
 * Run: `node --test tests/package/` (part of `npm test`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { OUT, ROOT } from "../../scripts/build_npm.ts";
import { defineContract } from "../contract/contract.ts";

const BIN = join(ROOT, "node_modules", ".bin");
const work = mkdtempSync(join(tmpdir(), "lameduck-package-"));
const project = join(work, "project");
let tarball = "";

/** Runs a command; returns its stdout, or fails with stdout and stderr when it exits non-zero. */
function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 120_000 });
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(" ")} exited ${result.status ?? result.signal ?? result.error}:\n` +
      `${result.stdout ?? ""}${result.stderr ?? ""}`,
  );
  return result.stdout;
}

/** The machine's own `node` (not the pinned one that `npm test` puts first on PATH). */
function systemNode(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    if (spawnSync(candidate, ["--version"]).status === 0) return candidate;
  }
  return undefined;
}

/** A program that serves one request through the installed package and prints its body. */
const SMOKE = `
import { serve } from "lameduck";
const server = serve({ fetch: () => new Response("smoke ok"), port: 0, hostname: "127.0.0.1",
  signals: false, logger: false });
const { url } = await server.ready;
const body = await (await fetch(url)).text();
const report = await server.shutdown();
console.log(JSON.stringify({ body, graceful: report.graceful, runtime: server.runtime }));
`;

before(() => {
  // The documented command (README, deno.json): `deno task build:npm`. It used to fail: the
  // task's `deno` resolved to node_modules/.bin/deno, which `deno task` runs as an npm bin
  // script, i.e. the deno binary as JavaScript ("SyntaxError: Invalid or unexpected token").
  rmSync(OUT, { recursive: true, force: true });
  run(join(BIN, "deno"), ["task", "build:npm"], ROOT);
  mkdirSync(project);
  const packed = run(
    "npm",
    ["pack", join(ROOT, "npm"), "--pack-destination", work, "--json"],
    work,
  );
  tarball = join(work, (JSON.parse(packed) as { filename: string }[])[0]!.filename);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", tarball], project);
  writeFileSync(join(project, "smoke.mjs"), SMOKE);
  // The contract fixture imports `serve` from here: a bare "lameduck" resolved by the project.
  writeFileSync(join(project, "entry.mjs"), `export * from "lameduck";\n`);
  process.env.LAMEDUCK_MODULE = pathToFileURL(join(project, "entry.mjs")).href;
});

after(() => rmSync(work, { recursive: true, force: true }));

describe("the npm package", () => {
  test("the tarball holds the compiled package only: JavaScript, .d.ts, docs/ (not contributing/), README, CHANGELOG, LICENSE", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).trim().split("\n");
    const sources = files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
    assert.deepEqual(sources, [], "TypeScript sources in the tarball");
    for (
      const f of [
        "mod.js",
        "mod.d.ts",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "package.json",
        "docs/systemd.md",
        "docs/api.md",
        "docs/runtimes.md",
        "docs/restarts.md",
      ]
    ) {
      assert.ok(files.includes(`package/${f}`), `package/${f} missing from ${tarball}`);
    }
    // The contributors' pages (contributing/) stay in the repository.
    assert.ok(
      !files.some((f) => f.startsWith("package/contributing/")),
      "contributing/ in the tarball",
    );
    assert.ok(
      !files.some((f) => /\/(development|mutation|internals)\.md$/.test(f)),
      files.join("\n"),
    );
    assert.ok(!files.some((f) => /tests?\//.test(f)), "tests in the tarball");
  });

  test("the published types reference no runtime's type package (bun-types, @types/node, Deno)", () => {
    const dir = join(project, "node_modules", "lameduck");
    const declarations = execFileSync("find", [dir, "-name", "*.d.ts"], { encoding: "utf8" })
      .trim().split("\n");
    const reachable = ["mod.d.ts", "src/core/types.d.ts", "src/serve.d.ts"].map((f) =>
      join(dir, f)
    );
    for (const file of reachable) assert.ok(declarations.includes(file), `${file} missing`);
    for (const file of reachable) {
      const text = readFileSync(file, "utf8");
      assert.doesNotMatch(text, /reference types|bun-types|from "node:|Deno\./, file);
    }
  });

  test("the installed package has no runtime dependencies", () => {
    const installed = readdirSync(join(project, "node_modules")).filter((f) => !f.startsWith("."));
    assert.deepEqual(installed, ["lameduck"]);
  });

  test('"lameduck" resolves to the installed package (what the contract fixture imports)', () => {
    const script = `console.log(import.meta.resolve("lameduck"))`;
    const resolved = run(join(BIN, "node"), ["--input-type=module", "-e", script], project);
    assert.equal(
      resolved.trim(),
      pathToFileURL(join(project, "node_modules", "lameduck", "mod.js")).href,
    );
  });

  test("publint reports nothing", () => {
    const out = run(join(BIN, "publint"), ["--strict", join(ROOT, "npm")], ROOT);
    assert.match(out, /All good/, out);
  });

  test("@arethetypeswrong/cli finds no problem for an ESM-only package", () => {
    // esm-only: CommonJS callers use require(esm) (checked below) or import().
    run(join(BIN, "attw"), [tarball, "--profile", "esm-only", "--format", "ascii"], ROOT);
  });

  for (const resolution of ["nodenext", "bundler"] as const) {
    test(`a TypeScript consumer type-checks with moduleResolution ${resolution}`, () => {
      const dir = join(project, `consumer-${resolution}`);
      mkdirSync(dir);
      copyFileSync(join(ROOT, "tests", "package", "consumer.ts"), join(dir, "consumer.ts"));
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "es2022",
            module: resolution === "nodenext" ? "nodenext" : "esnext",
            moduleResolution: resolution,
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            // A Node project has @types/node (it declares Disposable); a bundler project the
            // esnext lib. The package's types need one of the two for `Symbol.asyncDispose`.
            lib: resolution === "nodenext" ? ["es2022", "dom"] : ["esnext", "dom"],
            types: resolution === "nodenext" ? ["node"] : [],
            typeRoots: [join(ROOT, "node_modules", "@types")],
          },
          files: ["consumer.ts"],
        }),
      );
      run(join(BIN, "tsc"), ["-p", dir], dir);
    });
  }

  test("it imports and serves on the pinned Node 24, and require() loads it", () => {
    const out = run(join(BIN, "node"), ["smoke.mjs"], project);
    assert.deepEqual(JSON.parse(out), { body: "smoke ok", graceful: true, runtime: "node" });
    const required = run(join(BIN, "node"), ["-p", `typeof require("lameduck").serve`], project);
    assert.equal(required.trim(), "function");
  });

  test("it imports and serves on the machine's own Node (20.x), and require() loads it", () => {
    const node = systemNode();
    assert.ok(node, "no node outside node_modules on PATH (the machine is expected to have one)");
    const version = run(node, ["--version"], project).trim();
    const out = run(node, ["smoke.mjs"], project);
    assert.deepEqual(JSON.parse(out), { body: "smoke ok", graceful: true, runtime: "node" });
    const supported = run(node, ["-p", "Boolean(process.features.require_module)"], project);
    if (supported.trim() === "true") {
      const required = run(node, ["-p", `typeof require("lameduck").serve`], project);
      assert.equal(required.trim(), "function", `require() on ${version}`);
    } else {
      console.log(`# ${version} has no require(esm): require("lameduck") not checked there`);
    }
  });

  test("the lameduck bin restarts a worker that imports the installed package, with no failed request", async () => {
    const worker = join(project, "worker.mjs");
    writeFileSync(
      worker,
      `import { serve } from "lameduck";
const server = serve({ fetch: () => new Response(String(process.pid)), port: 0, logger: false });
await server.ready;`,
    );
    const bin = join(project, "node_modules", ".bin", "lameduck");
    const cli = spawn(bin, [
      "run",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--",
      join(BIN, "node"),
      worker,
    ], {
      cwd: project,
      // The bin's `#!/usr/bin/env node`: the pinned Node 24 first on PATH, as `npm test` has it.
      env: { ...process.env, PATH: `${BIN}${delimiter}${process.env.PATH}` },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    const seen = (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(log);
          if (match) resolve(match);
        };
        cli.stderr!.on("data", (chunk: Buffer) => {
          log += chunk;
          check();
        });
        cli.once("exit", () => reject(new Error(`lameduck run exited; log:\n${log}`)));
        check();
      });
    try {
      const port = Number((await seen(/socket 127\.0\.0\.1:(\d+)/))[1]);
      await seen(/worker 1 \(pid \d+\) ready/);
      const first = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      cli.kill("SIGHUP");
      await seen(/restart done/);
      const second = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      assert.notEqual(first, second, "the same worker answered after the restart");
      const exit = new Promise((resolve) => cli.once("exit", resolve));
      cli.kill("SIGTERM");
      assert.equal(await exit, 0, log);
    } finally {
      cli.kill("SIGKILL");
    }
  });

  test("it imports and serves on Bun from the same package", () => {
    const out = run(join(BIN, "bun"), ["smoke.mjs"], project);
    assert.deepEqual(JSON.parse(out), { body: "smoke ok", graceful: true, runtime: "bun" });
  });
});

describe("the contract suite against the installed package", () => {
  defineContract("node");
});
