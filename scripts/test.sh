#!/usr/bin/env bash
# The whole test command (`npm test`): static checks, unit tests on Deno, Bun and Node 24, the
# contract suite against real processes of each runtime, the npm package as installed, real
# frameworks' apps, the examples and the demo, and the zero-downtime restart proof. Uses only the toolchain
# pinned in package.json (node_modules/.bin), never whatever happens to be on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/node_modules/.bin"
for tool in deno bun node tsc; do
  if [ ! -x "$bin/$tool" ]; then
    echo "error: $bin/$tool is missing: run 'npm ci' first" >&2
    exit 1
  fi
done
node_version=$("$bin/node" --version)
case "$node_version" in v24.*) ;; *) echo "error: expected Node 24, got $node_version" >&2; exit 1 ;; esac

step() { printf '\n=== %s\n' "$*"; }
export NO_COLOR=1

step "deno fmt --check"; "$bin/deno" fmt --check
step "deno lint"; "$bin/deno" lint
step "deno check"; "$bin/deno" check mod.ts tests/ scripts/ examples/ bench/
step "tsc (Node type stripping rules: erasable syntax only)"; "$bin/tsc" -p tsconfig.json
# Run from outside the repository with --no-config: inside it, deno doc misresolves
# @types/node's triple-slash path references and prints dozens of bogus warnings (deno#36751).
step "deno doc --lint"
(cd "${TMPDIR:-/tmp}" && "$bin/deno" doc --lint --no-config "$OLDPWD/mod.ts" "$OLDPWD/src/supervisor/cli.ts")
step "deno test --doc (every @example runs)"; "$bin/deno" test -A --quiet --doc mod.ts src/
step "deno publish --dry-run"; "$bin/deno" publish --dry-run --allow-dirty 2>&1 | tail -n 3

step "unit tests on Deno"; "$bin/deno" test -A --quiet tests/unit/
step "unit tests on Bun"; "$bin/bun" test tests/unit/
step "unit tests on Node 24"; "$bin/node" --test tests/unit/*_test.ts

# Alone, not beside other test files: it reads V8's scavenge statistics, which load disturbs
# (compared with a baseline measured in the same run, so the remaining noise cancels out).
step "V8 GC regression on Node 24 (the forced-answer closure kept request garbage alive)"
"$bin/node" --test tests/gc/*_test.ts

step "contract suite on Deno, Bun and Node 24"
"$bin/node" --test --test-concurrency=3 tests/contract/*_test.ts

step "TLS on Deno, Bun and Node 24: HTTPS, a drain over TLS, a bad certificate, an inherited socket; HTTP/2 (Node: http2.connect, curl --http2; Deno)"
"$bin/node" --test tests/tls/*_test.ts

step "WebSockets: Node (@hono/node-ws, ws) and every runtime on an inherited socket; 1001 at shutdown, cut at the deadline"
"$bin/node" --test tests/websocket/*_test.ts

step "torture suite: abusive handlers and clients, signals, nginx, options fuzzing"
"$bin/node" --test tests/torture/*_test.ts

step "deploy recipes: PM2, PID 1 (unshare; skipped, not passed, without it), Kubernetes simulation"
"$bin/node" --test tests/recipes/*_test.ts

step "npm package: build, pack, install; publint, attw, consumer type-checks; contract on the installed package"
"$bin/node" --test tests/package/*_test.ts

step "documentation: code blocks type-check, links ship, documented Deno and systemd lines run as written"
"$bin/node" --test tests/docs/*_test.ts

step "frameworks: Express, Koa, Fastify, NestJS and h3 apps through lameduck on Node; Express and h3 also on Bun and Deno"
"$bin/node" --test --test-concurrency=2 tests/frameworks/*_test.ts

step "examples (Hono, Express and h3 on each runtime; Koa, Fastify and NestJS on Node) and the demo"
"$bin/node" --test tests/examples/*_test.ts

step "zero-downtime restarts: lameduck run with Deno, Bun and Node workers"
"$bin/node" --test tests/supervisor/*_test.ts
