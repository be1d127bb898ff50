/**
 * The routing tree, in grammY's shape: a Composer holds middleware in registration order, and
 * `on`, `hears`, `postback`, `filter` and `errorBoundary` each mount a NEW sub-composer behind a
 * test and return it, so handlers group (`const admin = bot.filter(isAdmin); admin.hears(…)`) and
 * narrow their context (`bot.on('text').use((ctx) => ctx.message.text)`). A Composer is itself
 * middleware (`middleware()`) and can be `use`d in another (mounting). The tree stays live:
 * handlers added to a sub-composer after it was mounted run too.
 *
 * The Bot is a Composer; what it needs from the tree beyond running it (the plugins carried by
 * mounted middleware, the events some `on` listens for) is read by {@link routeInfo}.
 */
import { compose, type Middleware, type NextFunction } from './compose.js';
import type { Context } from './context.js';
import type { EventMap, EventName } from './events.js';
import { postbackMatcher, textMatcher, type PostbackTrigger, type TextTrigger } from './filters.js';
import { pluginOf, type BotPlugin } from './plugin.js';

/** The context inside handlers for `event`: its properties are certain there. */
export type ContextFor<E extends EventName, S> = Context<S> & EventMap[E];
/** What a RegExp trigger adds to a context: the match, certain. */
export interface MatchedTurn {
  match: RegExpExecArray;
}
/** The context inside `bot.hears(RegExp, …)` handlers: a text turn whose `match` is certain. */
export type HearsContext<S> = ContextFor<'text', S> & MatchedTurn;
/** The context inside `bot.postback(RegExp, …)` handlers: a postback turn whose `match` is certain. */
export type PostbackMatchContext<S> = ContextFor<'postback', S> & MatchedTurn;
/** A handler: middleware over the context it is registered for. */
export type Handler<C> = (ctx: C, next: NextFunction) => unknown;
/** What `filter` and `branch` ask of a turn (may be async: a lookup in a store). */
export type RoutePredicate<C> = (ctx: C) => boolean | Promise<boolean>;
/**
 * An error boundary's handler: the error thrown in its subtree, the turn's context, and `next`,
 * which continues with the middleware after the boundary (as grammY's `errorBoundary` does).
 */
export type BoundaryHandler<C> = (error: unknown, ctx: C, next: NextFunction) => unknown;
/**
 * Anything that gives middleware on demand: a Composer is one. Mounting takes this rather than a
 * Composer of the same context, so a composer for any turn mounts inside a narrowed one
 * (`bot.on('text').use(menu)`): a Composer's own type is invariant, its middleware is not.
 */
export interface MiddlewareSource<C> {
  middleware(): Middleware<C>;
}
/** What `use` and `branch` take: middleware, or a composer (any middleware source) to mount. */
export type Routable<C> = Middleware<C> | MiddlewareSource<C>;

/** On `middleware()`'s function: the composer it runs, so the tree is found through it. */
const COMPOSER: unique symbol = Symbol('bbm-bot.composer');

/** Bumped by every change to any composer: routeInfo's cache reads it. */
let treeVersion = 0;

/** A composer's part of the tree, for routeInfo: what it mounted (raw middleware or sub-composers), what its `on`s listen for. */
interface TreeNode {
  readonly mounted: readonly unknown[];
  readonly listening: readonly EventName[];
}
/** Every composer's TreeNode, kept out of the class's public shape. */
const trees = new WeakMap<object, TreeNode>();

/**
 * Middleware in a tree. `S` is the session type, `C` the context its handlers see (narrowed by
 * the `on`, `hears`, `postback` and type-guard `filter` that made it).
 *
 * @example
 * const admin = new Composer<Session>().filter((ctx) => admins.has(ctx.user.id));
 * admin.hears('stats', (ctx) => ctx.reply(stats()));
 * bot.use(admin);
 */
export class Composer<S = undefined, C extends Context<S> = Context<S>> {
  private readonly chain: Middleware<C>[] = [];
  /** Everything mounted here (raw middleware and sub-composers), in order: the tree routeInfo walks. */
  private readonly mounted: unknown[] = [];
  /** Events an `on` of this composer listens for (some turns run only when someone listens). */
  private readonly listening: EventName[] = [];
  // compose reads the array at each step, so middleware added later runs too.
  private readonly run = compose(this.chain);
  private handle: Middleware<C> | undefined;

  /**
   * A composer holding `middleware`, to fill further and mount with `use`.
   *
   * @example const logging = new Composer(async (ctx, next) => { ctx.log.debug('turn'); await next(); });
   */
  constructor(...middleware: Routable<C>[]) {
    trees.set(this, { mounted: this.mounted, listening: this.listening });
    this.use(...middleware);
  }

  /**
   * Adds middleware (or mounts composers) that run for every turn reaching this composer, in the
   * order added. Returns this composer, so calls chain on it.
   *
   * @example bot.use(async (ctx, next) => { const t = Date.now(); await next(); ctx.log.info({ ms: Date.now() - t }); });
   */
  use(...middleware: Routable<C>[]): this {
    for (const m of middleware) {
      const run = typeof m === 'function' ? m : m.middleware();
      this.mounted.push(m);
      // A source's function too: it may lead to a composer (see routeInfo) the source hides.
      if (run !== m) this.mounted.push(run);
      this.chain.push(run);
    }
    treeVersion++;
    return this;
  }

  /**
   * Handlers for turns that fire `event` (or any of several events). Returns the sub-composer they
   * run in, typed for the event: what is `use`d on it runs for those turns only.
   *
   * @example bot.on('image', (ctx) => ctx.reply('Nice picture:', ctx.message.image));
   * @example bot.on(['text', 'image']).use(countMessages);
   */
  on<E extends EventName>(event: E | readonly E[], ...handlers: Handler<C & EventMap[E]>[]): Composer<S, C & EventMap[E]> {
    const events = (Array.isArray(event) ? event : [event]) as readonly EventName[];
    this.listening.push(...events);
    const sub = new Composer<S, C & EventMap[E]>(...handlers);
    const run = sub.middleware() as Middleware<C>;
    return this.mount(sub, (ctx, next) => (events.some((e) => ctx.events.has(e)) ? run(ctx, next) : next()));
  }

  /**
   * Handlers for text messages that match: a string (exact text), a RegExp or a predicate. With a
   * RegExp, `ctx.match` holds the match, typed as certain inside those handlers.
   *
   * @example bot.hears(/^book (\w+)/i, (ctx) => ctx.reply(`Booking ${ctx.match[1]}`));
   */
  hears(trigger: RegExp, ...handlers: Handler<C & EventMap['text'] & MatchedTurn>[]): Composer<S, C & EventMap['text'] & MatchedTurn>;
  hears(trigger: string | ((text: string) => boolean), ...handlers: Handler<C & EventMap['text']>[]): Composer<S, C & EventMap['text']>;
  hears(trigger: TextTrigger, ...handlers: Handler<C & EventMap['text']>[]): Composer<S, C & EventMap['text']>;
  hears(trigger: TextTrigger, ...handlers: Handler<never>[]): unknown {
    const matches = textMatcher(trigger);
    const sub = new Composer<S, never>(...handlers);
    const run = sub.middleware() as Middleware<C>;
    return this.mount(sub, (ctx, next) => {
      if (!ctx.events.has('text')) return next();
      const match = matches(ctx.text ?? '');
      if (!match) return next();
      if (match !== true) ctx.match = match;
      return run(ctx, next);
    });
  }

  /**
   * Handlers for postbacks that match: exact data; a query string whose every parameter the data
   * has (`'action=book'` matches `action=book&offer=1`); an object of parameters; a RegExp over the
   * data (`ctx.match` then holds the match, typed as certain); or a predicate.
   *
   * @example bot.postback('action=book', (ctx) => ctx.reply(`Booking offer ${ctx.postback.params.offer}`));
   * @example bot.postback(/^page-(\d+)$/, (ctx) => ctx.reply(`Page ${ctx.match[1]}`));
   */
  postback(trigger: RegExp, ...handlers: Handler<C & EventMap['postback'] & MatchedTurn>[]): Composer<S, C & EventMap['postback'] & MatchedTurn>;
  postback(trigger: PostbackTrigger, ...handlers: Handler<C & EventMap['postback']>[]): Composer<S, C & EventMap['postback']>;
  postback(trigger: PostbackTrigger, ...handlers: Handler<never>[]): unknown {
    const matches = postbackMatcher(trigger);
    const sub = new Composer<S, never>(...handlers);
    const run = sub.middleware() as Middleware<C>;
    return this.mount(sub, (ctx, next) => {
      const postback = ctx.postback;
      const match = postback ? matches(postback) : false;
      if (!match) return next();
      if (match !== true) ctx.match = match;
      return run(ctx, next);
    });
  }

  /**
   * Handlers for turns `predicate` accepts (it may be async); the others go on past them. A type
   * guard narrows the context of the returned sub-composer.
   *
   * @example
   * const admin = bot.filter((ctx) => ADMINS.has(ctx.user.id));
   * admin.hears('stats', (ctx) => ctx.reply(stats()));
   */
  filter<D extends C>(predicate: (ctx: C) => ctx is D, ...handlers: Handler<D>[]): Composer<S, D>;
  filter(predicate: RoutePredicate<C>, ...handlers: Handler<C>[]): Composer<S, C>;
  filter(predicate: RoutePredicate<C>, ...handlers: Handler<C>[]): Composer<S, C> {
    const sub = new Composer<S, C>(...handlers);
    const run = sub.middleware();
    return this.mount(sub, async (ctx, next) => ((await predicate(ctx)) ? run(ctx, next) : next()));
  }

  /**
   * Runs `whenTrue` for turns `predicate` accepts and `whenFalse` for the others; either continues
   * with what follows when it calls `next`. Returns this composer.
   *
   * @example bot.branch((ctx) => ctx.session.premium, premiumMenu, freeMenu);
   */
  branch(predicate: RoutePredicate<C>, whenTrue: Routable<C>, whenFalse: Routable<C>): this {
    const yes = new Composer<S, C>(whenTrue);
    const no = new Composer<S, C>(whenFalse);
    const runYes = yes.middleware();
    const runNo = no.middleware();
    this.mounted.push(yes, no);
    this.chain.push(async (ctx, next) => ((await predicate(ctx)) ? runYes(ctx, next) : runNo(ctx, next)));
    treeVersion++;
    return this;
  }

  /**
   * Middleware whose errors go to `handler` (with the turn's context) instead of `bot.catch`: the
   * turn then counts as handled. The middleware after the boundary runs once the subtree calls
   * `next` (after the subtree is done, outside the boundary: its errors are not the boundary's),
   * or when `handler` calls `next`. An error thrown by `handler` itself propagates. Returns the
   * sub-composer inside the boundary.
   *
   * @example
   * const guarded = bot.errorBoundary((err, ctx) => ctx.reply('That went wrong; try again.'));
   * guarded.hears('quote', async (ctx) => ctx.reply(await fetchQuote()));
   */
  errorBoundary(handler: BoundaryHandler<C>, ...middleware: Routable<C>[]): Composer<S, C> {
    const sub = new Composer<S, C>(...middleware);
    const run = sub.middleware();
    return this.mount(sub, async (ctx, next) => {
      let goOn = false;
      const proceed: NextFunction = () => {
        goOn = true;
        return Promise.resolve();
      };
      try {
        await run(ctx, proceed);
      } catch (error) {
        goOn = false;
        await handler(error, ctx, proceed);
      }
      if (goOn) await next();
    });
  }

  /**
   * This composer as one middleware: runs its chain, then `next` when the chain's last one calls
   * it. Live: what is added afterwards runs too.
   *
   * @example otherComposer.use(menu.middleware());
   */
  middleware(): Middleware<C> {
    if (!this.handle) {
      const handle: Middleware<C> = (ctx, next) => this.run(ctx, next);
      this.handle = Object.assign(handle, { [COMPOSER]: this });
    }
    return this.handle;
  }

  private mount<D extends C>(sub: Composer<S, D>, gate: Middleware<C>): Composer<S, D> {
    this.mounted.push(sub);
    this.chain.push(gate);
    treeVersion++;
    return sub;
  }
}

/** What the bot reads from its tree: plugins to start, and events some `on` listens for. */
export interface RouteInfo {
  /** Plugins carried by mounted middleware or composers, in registration order, each once. */
  readonly plugins: readonly BotPlugin[];
  /** Events an `on` anywhere in the tree listens for. */
  readonly listens: ReadonlySet<EventName>;
}

const routeCache = new WeakMap<object, { version: number; info: RouteInfo }>();

/**
 * The plugins and listened events of the whole tree under `root`, through mounted composers and
 * composers' `middleware()` functions; cached until any composer changes.
 *
 * @example for (const plugin of routeInfo(bot).plugins) plugin.start(host);
 */
export function routeInfo<S, C extends Context<S>>(root: Composer<S, C>): RouteInfo {
  const cached = routeCache.get(root);
  if (cached && cached.version === treeVersion) return cached.info;
  const plugins: BotPlugin[] = [];
  const listens = new Set<EventName>();
  const seen = new Set<unknown>();
  const visit = (node: unknown): void => {
    if (seen.has(node)) return;
    seen.add(node);
    const plugin = pluginOf(node);
    if (plugin && !plugins.includes(plugin)) plugins.push(plugin);
    const tree = typeof node === 'object' && node !== null ? trees.get(node) : undefined;
    if (tree) {
      for (const e of tree.listening) listens.add(e);
      tree.mounted.forEach(visit);
      return;
    }
    // A composer's middleware() function leads back to the composer (and a plugin it carries).
    const composer = composerOf(node);
    if (composer) visit(composer);
  };
  visit(root);
  const info: RouteInfo = { plugins, listens };
  routeCache.set(root, { version: treeVersion, info });
  return info;
}

function composerOf(value: unknown): object | undefined {
  if (typeof value !== 'function') return undefined;
  return (value as { [COMPOSER]?: object })[COMPOSER];
}
