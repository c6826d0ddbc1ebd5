/**
 * The documentation as a reader meets it: every TypeScript and JavaScript block in README.md,
 * CHANGELOG.md and docs/*.md type-checks (`deno check --doc-only`, with a negative control that
 * must fail), and every relative link resolves to a file that ships in both packages (npm and
 * JSR), so it works where the README is read; no reference to a file that does not exist.
 *
 *     node_modules/.bin/node --test tests/docs/
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { binaryOf, ROOT } from "../contract/harness.ts";
import { manifest } from "../../scripts/build_npm.ts";

const DOCS = [
  "README.md",
  "CHANGELOG.md",
  ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
];

function denoCheckDocs(files: string[]) {
  const config = join(ROOT, "deno.json");
  return spawnSync(binaryOf("deno"), ["check", "--config", config, "--doc-only", ...files], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
}

test("every code block in README.md, CHANGELOG.md and docs/*.md type-checks", () => {
  const result = denoCheckDocs(DOCS);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  // It checked the Quick start and the recipes' servers, not nothing.
  assert.match(result.stderr, /Check README\.md#\d+-\d+\.ts/);
  assert.match(result.stderr, /Check docs\/pm2\.md#\d+-\d+\.ts/);
});

test("negative control: a block that uses an undefined name (the old Quick start) fails", () => {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-docs-"));
  try {
    writeFileSync(
      join(dir, "README.md"),
      '# x\n\n```ts\nimport { serve } from "lameduck";\n\n' +
        'const server = serve({ fetch: () => new Response("hi") });\n' +
        'server.onShutdown(() => pool.end(), { name: "db" });\n```\n',
    );
    const result = denoCheckDocs([join(dir, "README.md")]);
    assert.notEqual(result.status, 0);
    assert.match(result.stdout + result.stderr, /Cannot find name 'pool'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** GitHub's (and JSR's) anchor for a heading. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, "").replace(/\s/g, "-");
}

test("relative links resolve to files shipped in both packages; README anchors exist", () => {
  const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  const jsr: string[] = deno.publish.include;
  const npm = manifest(deno).files as string[];
  const shipped = (path: string, list: string[]) =>
    list.some((entry) => entry.endsWith("/") ? path.startsWith(entry) : path === entry);
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const anchors = new Set([...readme.matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]!)));
  let links = 0;
  for (const doc of DOCS) {
    const text = readFileSync(join(ROOT, doc), "utf8").replace(/```[\s\S]*?```/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      links++;
      const [path, anchor] = target!.split("#");
      if (path === "") {
        if (doc === "README.md") assert.ok(anchors.has(anchor!), `${doc}: #${anchor}`);
        continue;
      }
      const file = relative(ROOT, join(ROOT, dirname(doc), path!));
      assert.ok(existsSync(join(ROOT, file)), `${doc}: ${target} does not exist`);
      assert.ok(shipped(file, jsr), `${doc}: ${target} is not in the JSR package`);
      assert.ok(shipped(file, npm), `${doc}: ${target} is not in the npm package`);
    }
  }
  assert.ok(links >= 8, `found only ${links} links`);
});

test("README.md names no file that is not in the repository (e.g. DESIGN.md)", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  for (const [, name] of readme.matchAll(/`([A-Z][A-Za-z_]*\.md)`/g)) {
    assert.ok(existsSync(join(ROOT, name!)), `README.md cites ${name}, which does not exist`);
  }
  assert.doesNotMatch(readme, /DESIGN\.md/);
});
