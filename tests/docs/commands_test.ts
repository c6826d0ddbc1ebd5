/**
 * The documented command lines, run as written (only binary and file paths replaced by the
 * pinned toolchain and a throw-away project):
 *
 * - the README's Node Quick start: `node server.ts` in a project whose `package.json` is the
 *   README's, and, as the README warns, the `SyntaxError` it names in a fresh `npm init -y`
 *   project;
 * - the Deno permission lines of docs/runtimes.md (direct, under `lameduck run`, under systemd),
 *   in a pseudo-terminal (`script`), where Deno would stop at a permission prompt: each must
 *   start serving without one (the direct one is also the README's Quick start line). A negative
 *   control (a server that reads an env variable itself) shows that a prompt is detected;
 * - every `ExecStart=` line of docs/systemd.md under `systemd-socket-activate` (installed from
 *   Debian's `systemd` package when missing and root): the server must answer on the socket it
 *   was given, which the old `npx` line did not (LISTEN_PID was npx's).
 *
 *     node_modules/.bin/node --test tests/docs/commands_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { binaryOf, ROOT } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";

const project = mkdtempSync(join(tmpdir(), "lameduck-docs-project-"));
after(() => rmSync(project, { recursive: true, force: true }));
const MOD = join(ROOT, "mod.ts");
/** The documented `server.ts`, reduced to what the lines need (no framework to install). */
writeFileSync(
  join(project, "server.ts"),
  `import { serve } from ${JSON.stringify(MOD)};\n` +
    `const server = serve({ fetch: () => new Response("hi\\n"), port: 0, hostname: "127.0.0.1" });\n` +
    `await server.finished;\n`,
);
const bin = join(project, "bin");
const calls = join(project, "notify-calls.log");
mkdirSync(bin);
writeFileSync(join(bin, "systemd-notify"), `#!/bin/sh\necho "$*" >> "${calls}"\n`);
chmodSync(join(bin, "systemd-notify"), 0o755);
/** A server that reads an environment variable itself: Deno prompts for it in a terminal. */
writeFileSync(
  join(project, "prompting.ts"),
  `console.log(Deno.env.get("SOME_VARIABLE") ?? "unset");\n` +
    `await import(${JSON.stringify(join(project, "server.ts"))});\n`,
);

const README = readFileSync(join(ROOT, "README.md"), "utf8");
/** The README's Quick start section. */
const QUICK_START = README.slice(
  README.indexOf("## Quick start"),
  README.indexOf("\n## ", README.indexOf("## Quick start") + 1),
);

/** The Deno permission table of docs/runtimes.md: how → command. */
function denoLines(): Map<string, string> {
  const page = readFileSync(join(ROOT, "docs", "runtimes.md"), "utf8");
  const lines = new Map<string, string>();
  for (
    const [, how, command] of page.matchAll(/^\| (directly|under [^|]+?)\s*\| `(deno [^`]+)`/gm)
  ) {
    lines.set(how!, command!);
  }
  return lines;
}

/** Replaces the documented binaries and paths with the pinned toolchain and the project. */
function localize(command: string): string[] {
  return command.split(/\s+/).map((word) =>
    word
      .replace(/^(\/usr\/bin\/)?deno$/, binaryOf("deno"))
      .replace(/^(\/usr\/bin\/)?bun$/, binaryOf("bun"))
      .replace(/^(\/usr\/bin\/)?node$/, binaryOf("node"))
      .replace(
        /^\/srv\/app\/node_modules\/lameduck\/src\/supervisor\/cli\.js$/,
        join(ROOT, "src", "supervisor", "cli.ts"),
      )
      .replace(/^\/srv\/app\//, `${project}/`)
  );
}

const quote = (word: string) => `'${word.replace(/'/g, "'\\''")}'`;

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<unknown>;
}

/** Starts `argv` in the project (or `cwd`), optionally inside a pseudo-terminal; its own process group. */
function startIn(
  argv: string[],
  tty: boolean,
  env: NodeJS.ProcessEnv = {},
  cwd = project,
): Started {
  const [file, args] = tty
    ? ["script", ["-qfec", argv.map(quote).join(" "), "/dev/null"]]
    : [argv[0]!, argv.slice(1)];
  const child = spawn(file, args, {
    cwd,
    detached: true,
    env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { child, output: () => output, exited };
}

/** SIGTERM to the process group this test started, then SIGKILL if it lingers. */
async function stop(started: Started): Promise<void> {
  const group = -started.child.pid!;
  try {
    process.kill(group, "SIGTERM");
  } catch {
    return;
  }
  await Promise.race([started.exited, sleep(5_000)]);
  try {
    process.kill(group, "SIGKILL");
  } catch { /* gone */ }
  // Workers of a `lameduck run` this test started live in their own process groups: if the
  // supervisor did not drain them (killed above), stop them by the PIDs it logged.
  for (const [, pid] of started.output().matchAll(/worker \d+ started \(pid (\d+)\)/g)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch { /* gone */ }
  }
}

/** Whether `pattern` appears in the output within `ms` (a bounded loop). */
async function waitFor(started: Started, pattern: RegExp, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!pattern.test(started.output())) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

const PROMPT = /Deno requests|Allow\?|\[y\/n/;

test("docs/runtimes.md documents a Deno line for each way to run; the README's is the direct one", () => {
  assert.deepEqual([...denoLines().keys()], [
    "directly",
    "under `lameduck run`",
    "under systemd (socket unit, `sd_notify`)",
  ]);
  const quick = [...QUICK_START.matchAll(/^(deno run [^#\n]*?)\s*#/gm)].map((m) => m[1]);
  assert.deepEqual(quick, [denoLines().get("directly")]);
});

/** The README's Node line (`node server.ts`) and the `package.json` it asks for. */
function nodeQuickStart(): { line: string; manifest: unknown; error: string } {
  const line = /^(node [^#\n]*?)\s*#/m.exec(QUICK_START)?.[1];
  const manifest = /```json\n([\s\S]*?)```/.exec(QUICK_START)?.[1];
  const error = /fails with\s+`(SyntaxError: [^`]+)`/.exec(QUICK_START)?.[1];
  assert.ok(line && manifest && error, "the Quick start's Node line, package.json and error");
  return { line, manifest: JSON.parse(manifest), error };
}

/** A project directory holding `server.ts` and the given `package.json`. */
function nodeProject(name: string, manifest: unknown): string {
  const dir = join(project, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest));
  writeFileSync(join(dir, "server.ts"), readFileSync(join(project, "server.ts")));
  return dir;
}

test("the README's Node Quick start serves in a project with the documented package.json", async () => {
  const { line, manifest } = nodeQuickStart();
  const dir = nodeProject("node-esm", manifest);
  const started = startIn(localize(line), false, {}, dir);
  try {
    assert.ok(
      await waitFor(started, /listening on http:\/\/127\.0\.0\.1:\d+\//, 20_000),
      started.output(),
    );
  } finally {
    await stop(started);
  }
});

test("negative control: in a fresh `npm init -y` project the Node Quick start fails as the README says", async () => {
  const { line, error } = nodeQuickStart();
  const dir = nodeProject("node-fresh", {});
  const init = spawnSync("npm", ["init", "-y"], { cwd: dir, encoding: "utf8" });
  assert.equal(init.status, 0, init.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).type, "commonjs");
  const started = startIn(localize(line), false, {}, dir);
  try {
    const quoted = new RegExp(error.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    assert.ok(await waitFor(started, quoted, 20_000), started.output());
    await within(started.exited, 20_000, `node to exit\n${started.output()}`);
    assert.notEqual(started.child.exitCode, 0);
    assert.doesNotMatch(started.output(), /listening on/);
  } finally {
    await stop(started);
  }
});

test("negative control: in a terminal, a Deno server reading a variable itself stops at a prompt", async () => {
  const line = denoLines().get("directly")!.replace("server.ts", "prompting.ts");
  const started = startIn(localize(line), true);
  try {
    assert.ok(await waitFor(started, PROMPT, 20_000), `no prompt seen:\n${started.output()}`);
    assert.doesNotMatch(started.output(), /listening on/);
  } finally {
    await stop(started);
  }
});

test("directly: `deno run --allow-net server.ts` serves in a terminal without a prompt", async () => {
  const started = startIn(localize(denoLines().get("directly")!), true);
  try {
    assert.ok(
      await waitFor(started, /listening on http:\/\/127\.0\.0\.1:\d+\//, 20_000),
      started.output(),
    );
    assert.doesNotMatch(started.output(), PROMPT);
  } finally {
    await stop(started);
  }
});

test("under lameduck run: the documented Deno flags adopt the socket and report ready, in a terminal", async () => {
  const cli = join(ROOT, "src", "supervisor", "cli.ts");
  const argv = [
    binaryOf("node"),
    cli,
    "run",
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--",
    ...localize(denoLines().get("under `lameduck run`")!),
  ];
  const started = startIn(argv, true);
  try {
    assert.ok(await waitFor(started, /worker 1 \(pid \d+\) ready/, 20_000), started.output());
    assert.doesNotMatch(started.output(), PROMPT);
    // The flags let the worker read its id: its lines name it.
    const pid = /worker 1 \(pid (\d+)\) ready/.exec(started.output())![1];
    assert.ok(
      await waitFor(started, new RegExp(`lameduck\\[worker 1, pid ${pid}\\]: listening on`), 5_000),
      started.output(),
    );
    const port = /socket 127\.0\.0\.1:(\d+) /.exec(started.output())![1];
    const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
    assert.equal(await response.text(), "hi\n");
  } finally {
    await stop(started);
  }
});

/** `systemd-socket-activate`, installed from Debian's `systemd` package when missing. */
function socketActivate(): string | undefined {
  const which = () =>
    spawnSync("sh", ["-c", "command -v systemd-socket-activate"], { encoding: "utf8" });
  if (which().status !== 0 && process.getuid?.() === 0) {
    spawnSync("apt-get", ["install", "-y", "-q", "systemd"], { stdio: "ignore" });
  }
  const found = which();
  return found.status === 0 ? found.stdout.trim() : undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every `ExecStart=` of docs/systemd.md, commented alternatives included. */
function execStarts(): string[] {
  const text = readFileSync(join(ROOT, "docs", "systemd.md"), "utf8");
  return [...text.matchAll(/^(?:# \w+: +)?ExecStart=(.+)$/gm)].map((m) => m[1]!.trim());
}

const activate = socketActivate();

test("docs/systemd.md shows the real binaries in ExecStart (no npx) and sets WorkingDirectory", () => {
  const lines = execStarts();
  assert.equal(lines.length, 4, lines.join("\n"));
  for (const line of lines) assert.doesNotMatch(line, /npx/);
  const text = readFileSync(join(ROOT, "docs", "systemd.md"), "utf8");
  assert.equal(text.match(/^WorkingDirectory=\/srv\/app$/gm)?.length, 2);
  // The systemd Deno line is the one of docs/runtimes.md.
  const deno = lines.find((l) => l.includes("deno"))!;
  assert.equal(
    deno.replace("/usr/bin/deno", "deno").replace("/srv/app/server.ts", "server.ts"),
    denoLines().get("under systemd (socket unit, `sd_notify`)"),
  );
});

for (const line of execStarts()) {
  test(`under systemd-socket-activate: ExecStart=${line}`, {
    skip: !activate && "no systemd-socket-activate",
  }, async () => {
    const port = await freePort();
    // Type=notify: systemd sets NOTIFY_SOCKET; a stand-in systemd-notify first on PATH records
    // what the service sends.
    rmSync(calls, { force: true });
    const started = startIn(
      [
        activate!,
        "-E",
        "NOTIFY_SOCKET",
        "-E",
        "PATH",
        "-l",
        `127.0.0.1:${port}`,
        ...localize(line),
      ],
      false,
      { NOTIFY_SOCKET: join(project, "notify.sock"), PATH: `${bin}:${process.env.PATH}` },
    );
    try {
      assert.ok(await waitFor(started, /Listening on /, 10_000), started.output());
      // systemd-socket-activate starts the service on the first connection, as a socket unit does.
      const response = await within(
        fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } }),
        20_000,
        `an answer\n${started.output()}`,
      );
      assert.equal(await response.text(), "hi\n", started.output());
      assert.match(started.output(), new RegExp(`listening on http://127\\.0\\.0\\.1:${port}/`));
      const sent = async () => {
        const deadline = Date.now() + 5_000;
        while (!existsSync(calls) || !/READY=1/.test(readFileSync(calls, "utf8"))) {
          if (Date.now() > deadline) return "";
          await sleep(50);
        }
        return readFileSync(calls, "utf8");
      };
      assert.match(await sent(), /READY=1/, `no READY=1 sent to systemd\n${started.output()}`);
      assert.doesNotMatch(started.output(), /systemd will not hear from us/);
    } finally {
      await stop(started);
    }
  });
}
