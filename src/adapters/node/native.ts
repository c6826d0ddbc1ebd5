/**
 * Shared by the lazy request and the light response of the Node bridge (`globals.ts`):
 * every member they do not implement themselves is the native object's, built on first use.
 *
 * @module
 */

const INSPECT = Symbol.for("nodejs.util.inspect.custom");
type Inspect = (value: unknown, options: unknown) => string;

/**
 * Defines on `proto` every getter and method of `nativeProto` it lacks, calling the native
 * object `toNative(this)`; and Node's inspection, which would read internal state `proto`'s
 * objects lack.
 *
 * @param proto The lightweight class's prototype.
 * @param nativeProto The native class's prototype.
 * @param toNative The native object a lightweight one stands for.
 */
export function delegateToNative<T extends object>(
  proto: T,
  nativeProto: object,
  toNative: (self: T) => object,
): void {
  for (const name of Object.getOwnPropertyNames(nativeProto)) {
    if (name === "constructor" || Object.hasOwn(proto, name)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(nativeProto, name)!;
    if (descriptor.get) {
      const get = descriptor.get;
      Object.defineProperty(proto, name, {
        get(this: T) {
          return get.call(toNative(this));
        },
        configurable: true,
      });
    } else if (typeof descriptor.value === "function") {
      const method = descriptor.value as (...args: unknown[]) => unknown;
      Object.defineProperty(proto, name, {
        value(this: T, ...args: unknown[]) {
          return method.apply(toNative(this), args);
        },
        configurable: true,
        writable: true,
      });
    }
  }
  Object.defineProperty(proto, INSPECT, {
    value(this: T, _depth: number, options: unknown, inspect: Inspect): string {
      return inspect(toNative(this), options);
    },
  });
}
