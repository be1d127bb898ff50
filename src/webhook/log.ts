import type { Logger } from 'pino';

type Bindings = Record<string, unknown>;

/**
 * `parent.child(bindings)`, except that its children (and theirs) are made from `parent` with the
 * bindings merged, instead of from it. The lines they write are the same; the cost is not: V8 turns
 * an object into a prototype the first time something is created from it, and a child made from a
 * fresh child logger costs about 18 µs against 1 µs for one made from a long-lived logger, on every
 * callback that has a message. Falls back to pino's own child whenever merging could differ: child
 * options, a binding named twice, a level changed since.
 */
export function flatChild(parent: Logger, bindings: Bindings): Logger {
  const child = parent.child(bindings);
  const nested = child.child;
  child.child = function flatGrandchild(this: Logger, more: Bindings, options?: unknown) {
    const plain =
      options === undefined &&
      more !== null &&
      typeof more === 'object' &&
      this.level === parent.level &&
      !Object.keys(more).some((k) => Object.prototype.hasOwnProperty.call(bindings, k));
    return plain ? flatChild(parent, { ...bindings, ...more }) : nested.call(this, more, options as never);
  } as Logger['child'];
  return child;
}
