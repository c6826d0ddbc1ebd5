/**
 * Markdown building blocks for RESULTS.md.
 *
 * @module
 */

/** A markdown table. */
export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A fenced block of commands, ending with the driver command that runs scenario `only`. */
export function commands(lines: string[], only: string): string {
  const driver = `node_modules/.bin/node bench/run.ts --only=${only}   # runs all of the above`;
  return ["```sh", ...lines, driver, "```"].join("\n");
}
