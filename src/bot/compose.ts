/** Koa's idea in a few lines: each middleware gets the context and a `next` that runs the rest. */
export type NextFunction = () => Promise<void>;
export type Middleware<C> = (ctx: C, next: NextFunction) => unknown;

export function compose<C>(middleware: readonly Middleware<C>[]): (ctx: C, next?: NextFunction) => Promise<void> {
  return function composed(ctx, last) {
    let calledUpTo = -1;
    const run = async (i: number): Promise<void> => {
      if (i <= calledUpTo) throw new Error('next() called more than once in the same middleware');
      calledUpTo = i;
      const fn = middleware[i];
      if (fn === undefined) {
        if (last) await last();
        return;
      }
      await fn(ctx, () => run(i + 1));
    };
    return run(0);
  };
}
