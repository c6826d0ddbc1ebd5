/**
 * Fakes of `lameduck run`'s process for in-process supervisor tests: workers with a scripted
 * behaviour, and a {@linkcode System} that records log lines, systemd notices and the pid file.
 *
 * @module
 */

import type { RunOptions } from "../../src/supervisor/args.ts";
import type { System } from "../../src/supervisor/system.ts";
import type { WorkerExit, WorkerHandle, WorkerSpec } from "../../src/supervisor/worker.ts";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How a fake worker behaves. */
export type Behaviour = "ready" | "fail" | "hang" | "stubborn" | "slow";

export class FakeWorker implements WorkerHandle {
  readonly generation: number;
  readonly startedAt = performance.now();
  readonly pid: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<WorkerExit>;
  readonly report = undefined;
  readonly signals: string[] = [];
  isReady = false;
  done = false;
  #exit!: (exit: WorkerExit) => void;
  readonly spec: WorkerSpec;
  #behaviour: Behaviour;

  constructor(spec: WorkerSpec, behaviour: Behaviour) {
    this.spec = spec;
    this.generation = spec.generation;
    this.pid = 1000 + spec.generation;
    this.#behaviour = behaviour;
    let ready!: () => void;
    this.ready = new Promise((resolve) => (ready = resolve));
    this.exited = new Promise((resolve) => (this.#exit = resolve));
    if (behaviour === "fail") setTimeout(() => this.exit(1, null), 2);
    if (behaviour === "ready" || behaviour === "stubborn" || behaviour === "slow") {
      setTimeout(() => {
        this.isReady = true;
        ready();
      }, 2);
    }
  }

  exit(code: number, signal: NodeJS.Signals | null): void {
    if (this.done) return;
    this.done = true;
    this.#exit({ code, signal });
  }

  kill(signal: NodeJS.Signals): void {
    if (this.done) return;
    this.signals.push(signal);
    if (signal === "SIGKILL") setTimeout(() => this.exit(137, "SIGKILL"), 1);
    else if (this.#behaviour === "slow") setTimeout(() => this.exit(0, null), 100);
    else if (this.#behaviour !== "stubborn") setTimeout(() => this.exit(0, null), 5);
  }
}

export class FakeSystem implements System {
  env: Record<string, string | undefined> = {};
  pid = 42;
  lines: string[] = [];
  handlers = new Map<string, () => void>();
  workers: FakeWorker[] = [];
  notified: string[][] = [];
  migrate: string | undefined = "0";
  /** Behaviour of the worker with this generation; `ready` otherwise. */
  behaviours = new Map<number, Behaviour>();
  /** Called on every spawn and kill, to check invariants. */
  onKill: (worker: FakeWorker, signal: string) => void = () => {};
  log(line: string): void {
    this.lines.push(line);
  }
  onSignal(signal: NodeJS.Signals, handler: () => void): () => void {
    this.handlers.set(signal, handler);
    return () => this.handlers.delete(signal);
  }
  spawn(spec: WorkerSpec): WorkerHandle {
    const worker = new FakeWorker(spec, this.behaviours.get(spec.generation) ?? "ready");
    const kill = worker.kill.bind(worker);
    worker.kill = (signal) => {
      this.onKill(worker, signal);
      kill(signal);
    };
    this.workers.push(worker);
    return worker;
  }
  systemd(fields: string[]): void {
    this.notified.push(fields);
  }
  sysctl(): string | undefined {
    return this.migrate;
  }
  cpus(): number {
    return 3;
  }
  bind(host: string, port: number, _reusePort: boolean) {
    return { fd: 99, host, port: port || 4321, close: () => {} };
  }
  adopt(fd: number) {
    return { fd, host: "?", port: 0, close: () => {} };
  }
  tempDir() {
    return { path: "/nonexistent", remove: () => {} };
  }
  tmpdir(): string {
    return "/tmp";
  }
  /** The --pid-file paths claimed and released. */
  pidFiles: string[] = [];
  claimPidFile(path: string): string | undefined {
    this.pidFiles.push(`claim ${path}`);
    return undefined;
  }
  releasePidFile(path: string): void {
    this.pidFiles.push(`release ${path}`);
  }
  /** What `lameduck status` would be answered now; `undefined` when nothing answers. */
  status: (() => unknown) | undefined;
  serveStatus(answer: () => unknown): () => void {
    this.status = answer;
    return () => (this.status = undefined);
  }
  signal(name: string): void {
    this.handlers.get(name)!();
  }
  async until(pattern: RegExp, count = 1): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if (this.lines.filter((l) => pattern.test(l)).length >= count) return;
      await sleep(5);
    }
    throw new Error(`timed out waiting for ${pattern}; log:\n${this.lines.join("\n")}`);
  }
}

export function options(overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    port: 0,
    host: "127.0.0.1",
    readyTimeout: 200,
    stopTimeout: 1000,
    handover: "fd",
    workers: 1,
    force: false,
    command: ["node", "server.ts"],
    log: "text",
    ...overrides,
  };
}
