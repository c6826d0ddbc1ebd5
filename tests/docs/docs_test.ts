/**
 * The documentation as a reader meets it: every TypeScript and JavaScript block in README.md,
 * CHANGELOG.md, docs/*.md and contributing/*.md type-checks (`deno check --doc-only`, with a
 * negative control that must fail); every relative link resolves, and its `#anchor` is a heading
 * of the page it points to. README.md, CHANGELOG.md and docs/ ship in both packages (npm and JSR):
 * their links must point to files that ship too, so they work where the README is read.
 * contributing/ (the contributors' pages) ships in neither package, so no shipped page links to
 * it. The README stays a front page, and table cells stay short enough to read.
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
import { binaryOf, ROOT } from "../contract/runtimes.ts";
import { manifest } from "../../scripts/build_npm.ts";

const pages = (dir: string) =>
  readdirSync(join(ROOT, dir)).filter((f) => f.endsWith(".md")).sort().map((f) => `${dir}/${f}`);
/** The pages both packages ship: a reader of the published README can follow links among them. */
const SHIPPED_DOCS = ["README.md", "CHANGELOG.md", ...pages("docs")];
/** The contributors' pages: in the repository only. */
const CONTRIBUTING = pages("contributing");
const DOCS = [...SHIPPED_DOCS, ...CONTRIBUTING];

const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
const JSR: string[] = deno.publish.include;
const NPM = manifest(deno).files as string[];
const shipped = (path: string, list: string[]) =>
  list.some((entry) => entry.endsWith("/") ? path.startsWith(entry) : path === entry);

function denoCheckDocs(files: string[]) {
  const config = join(ROOT, "deno.json");
  return spawnSync(binaryOf("deno"), ["check", "--config", config, "--doc-only", ...files], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
}

test("every code block in README.md, CHANGELOG.md, docs/*.md and contributing/*.md type-checks", () => {
  const result = denoCheckDocs(DOCS);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  // It checked the Quick start and the recipes' servers, not nothing.
  assert.match(result.stderr, /Check README\.md#\d+-\d+\.ts/);
  assert.match(result.stderr, /Check docs\/pm2\.md#\d+-\d+\.ts/);
  assert.match(result.stderr, /Check docs\/api\.md#\d+-\d+\.ts/);
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

/** A page's text outside its code blocks. */
const prose = (doc: string) => readFileSync(join(ROOT, doc), "utf8").replace(/```[\s\S]*?```/g, "");

/** The anchors of a page's headings. */
const anchorsOf = (doc: string) =>
  new Set([...prose(doc).matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]!)));

test("the contributors' pages ship in neither package; the reader's pages ship in both", () => {
  assert.ok(CONTRIBUTING.length >= 3, CONTRIBUTING.join(", "));
  for (const doc of CONTRIBUTING) {
    assert.ok(!shipped(doc, JSR), `${doc} is in the JSR package`);
    assert.ok(!shipped(doc, NPM), `${doc} is in the npm package`);
  }
  for (const doc of SHIPPED_DOCS) {
    assert.ok(shipped(doc, JSR), `${doc} is not in the JSR package`);
    assert.ok(shipped(doc, NPM), `${doc} is not in the npm package`);
  }
});

interface LinkCheck {
  problems: string[];
  links: number;
  anchored: number;
}

/** Checks the relative links of `text`, read as the page `doc`. */
function checkLinks(doc: string, text: string): LinkCheck {
  const fromShipped = SHIPPED_DOCS.includes(doc);
  const result: LinkCheck = { problems: [], links: 0, anchored: 0 };
  const problem = (ok: boolean, message: string) => ok || result.problems.push(message);
  for (const [, target] of text.replace(/```[\s\S]*?```/g, "").matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target!)) continue;
    result.links++;
    const [path, anchor] = target!.split("#");
    const file = path === "" ? doc : relative(ROOT, join(ROOT, dirname(doc), path!));
    if (!existsSync(join(ROOT, file))) {
      result.problems.push(`${doc}: ${target} does not exist`);
      continue;
    }
    if (fromShipped) {
      problem(shipped(file, JSR), `${doc}: ${target} is not in the JSR package`);
      problem(shipped(file, NPM), `${doc}: ${target} is not in the npm package`);
    }
    if (anchor !== undefined) {
      result.anchored++;
      const page = file === doc
        ? new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]!)))
        : file.endsWith(".md")
        ? anchorsOf(file)
        : new Set();
      problem(page.has(anchor), `${doc}: ${target}: no such heading in ${file}`);
    }
  }
  return result;
}

test("relative links resolve, anchors exist; shipped pages link only to shipped files", () => {
  let links = 0, anchored = 0, fromContributing = 0;
  for (const doc of DOCS) {
    const result = checkLinks(doc, readFileSync(join(ROOT, doc), "utf8"));
    assert.deepEqual(result.problems, []);
    links += result.links;
    anchored += result.anchored;
    if (CONTRIBUTING.includes(doc)) fromContributing += result.links;
  }
  assert.ok(links >= 40, `found only ${links} links`);
  assert.ok(anchored >= 10, `found only ${anchored} links with an anchor`);
  assert.ok(fromContributing >= 5, `found only ${fromContributing} links in contributing/`);
});

test("negative control: a README linking to contributing/, a missing heading or file fails", () => {
  const bad = "# x\n\n[dev](contributing/development.md) [api](docs/api.md#no-such-heading) " +
    "[self](#x) [gone](docs/gone.md) [api](docs/api.md#serveoptions-server)\n";
  assert.deepEqual(checkLinks("README.md", bad).problems, [
    "README.md: contributing/development.md is not in the JSR package",
    "README.md: contributing/development.md is not in the npm package",
    "README.md: docs/api.md#no-such-heading: no such heading in docs/api.md",
    "README.md: docs/gone.md does not exist",
  ]);
  // The same link from a contributors' page is fine: it is read in the repository.
  assert.deepEqual(checkLinks("contributing/mutation.md", "[d](development.md)").problems, []);
});

test("the pages name no repository file that does not exist (e.g. DESIGN.md)", () => {
  for (const doc of DOCS) {
    for (const [, name] of prose(doc).matchAll(/`((?:[\w.-]+\/)*[\w-]+\.md)`/g)) {
      assert.ok(existsSync(join(ROOT, name!)), `${doc} cites ${name}, which does not exist`);
    }
  }
  assert.doesNotMatch(readFileSync(join(ROOT, "README.md"), "utf8"), /DESIGN\.md/);
});

/** The longest table cell a reader is asked to take in (a command line of the Deno table fits). */
const MAX_CELL = 150;

test(`README.md is a front page (at most 250 lines); no table cell is over ${MAX_CELL} characters`, () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const lines = readme.split("\n").length;
  assert.ok(lines <= 250, `README.md has ${lines} lines: move the depth to docs/`);
  let cells = 0;
  for (const doc of SHIPPED_DOCS) {
    for (const row of prose(doc).split("\n").filter((line) => line.startsWith("|"))) {
      for (const cell of row.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim())) {
        if (/^:?-+:?$/.test(cell)) continue;
        cells++;
        assert.ok(
          cell.length <= MAX_CELL,
          `${doc}: a ${cell.length}-character cell (put the long answer in a numbered note ` +
            `under the table): ${cell.slice(0, 80)}...`,
        );
      }
    }
  }
  assert.ok(cells >= 200, `found only ${cells} table cells`);
});
