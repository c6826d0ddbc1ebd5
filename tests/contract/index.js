// Lets `node --test tests/contract/` (a directory, which Node 24's runner does not expand) run the
// whole contract: Node resolves the directory to this file, which loads every runtime's suite in
// one process. `node --test 'tests/contract/*_test.ts'` runs them as separate processes instead.
import "./runtimes_test.ts";
import "./deno_test.ts";
import "./bun_test.ts";
import "./node_test.ts";
