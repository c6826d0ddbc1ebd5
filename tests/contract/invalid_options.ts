/**
 * The invalid `serve()` options of contract case 14, shared by the fixture (which tries them
 * inside each runtime) and the driver (which expects one result line per row).
 *
 * @module
 */

/** Marks an option that is left out entirely. */
export const MISSING: unique symbol = Symbol("missing");

/** One invalid option. */
export interface InvalidOption {
  /** Unique label of the row. */
  label: string;
  /** The option's name: the error message must contain it. */
  option: string;
  /** The invalid value, or {@linkcode MISSING}. */
  value: unknown;
  /** How the value reads in a message (`-1`, `NaN`, `SIGFOO`, `undefined`). */
  text: string;
}

/** Every row must make `serve()` throw a `TypeError` or `RangeError` naming the option. */
export const INVALID_OPTIONS: InvalidOption[] = [
  { label: "port -1", option: "port", value: -1, text: "-1" },
  { label: "port 70000", option: "port", value: 70000, text: "70000" },
  { label: 'port "80"', option: "port", value: "80", text: "80" },
  { label: "port 1.5", option: "port", value: 1.5, text: "1.5" },
  { label: "drainTimeout -1", option: "drainTimeout", value: -1, text: "-1" },
  { label: "drainTimeout NaN", option: "drainTimeout", value: NaN, text: "NaN" },
  { label: "lameDuck Infinity", option: "lameDuck", value: Infinity, text: "Infinity" },
  { label: "lameDuck -5", option: "lameDuck", value: -5, text: "-5" },
  { label: "maxInFlight 0", option: "maxInFlight", value: 0, text: "0" },
  { label: "maxInFlight -1", option: "maxInFlight", value: -1, text: "-1" },
  { label: 'readiness "no-slash"', option: "readiness", value: "no-slash", text: "no-slash" },
  { label: "readiness 5", option: "readiness", value: 5, text: "5" },
  { label: 'signals ["SIGFOO"]', option: "signals", value: ["SIGFOO"], text: "SIGFOO" },
  { label: 'signals "SIGTERM"', option: "signals", value: "SIGTERM", text: "SIGTERM" },
  { label: "fetch missing", option: "fetch", value: MISSING, text: "undefined" },
  { label: 'fetch "x"', option: "fetch", value: "x", text: "x" },
  { label: "logger 5", option: "logger", value: 5, text: "5" },
  { label: 'exit "yes"', option: "exit", value: "yes", text: "yes" },
  { label: "hostname 5", option: "hostname", value: 5, text: "5" },
  { label: "onError 1", option: "onError", value: 1, text: "1" },
  { label: 'onListen "x"', option: "onListen", value: "x", text: "x" },
  { label: 'overrideGlobals "yes"', option: "overrideGlobals", value: "yes", text: "yes" },
  { label: "overrideGlobals 1", option: "overrideGlobals", value: 1, text: "1" },
];
