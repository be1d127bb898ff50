/**
 * The tour of the framework: a buttons menu, a booking flow that keeps its step in the session,
 * typing during slow work, read receipts, replies to delivery events and a leave handler. The README
 * walks through this file.
 */
import { buttons, createBot, linkAction, postback, textAction, type Clock } from '../../src/index.js';

/** Tunables, exported so tests can make the slow parts quick. */
export const settings = {
  /**
   * How long the "Do slow work" button works. The spec's typing rules show "is typing…" 5 s into
   * the work, so it takes long enough to see it.
   */
  slowWorkMs: 8000,
  /** Time for the slow work and the bot's typing timers: tests put a FakeClock here instead of waiting. */
  clock: {
    now: () => Date.now(),
    setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
    clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
  } as Clock,
};

/** The bot's clock: whichever one `settings.clock` holds at the moment. */
const clock: Clock = {
  now: () => settings.clock.now(),
  setTimeout: (fn, ms) => settings.clock.setTimeout(fn, ms),
  clearTimeout: (handle) => settings.clock.clearTimeout(handle),
};

interface ShowcaseSession {
  step: 'idle' | 'askName' | 'askCity';
  name?: string;
  city?: string;
  bookings: number;
  /** The mid of the last booking confirmation, to answer when the user reads it. */
  confirmationMid?: string;
}

const bot = createBot({
  name: 'ShowcaseBot',
  session: { initial: (): ShowcaseSession => ({ step: 'idle', bookings: 0 }) },
  clock,
});

const menu = () =>
  buttons({
    imageUrl: 'https://picsum.photos/seed/bbm/600/300',
    title: 'BBM bot showcase',
    desc: 'Pick something to try.',
    actions: [
      postback({ label: 'Book a table', data: 'action=book' }),
      postback({ label: 'Do slow work', data: 'action=slow' }),
      textAction({ label: 'Tell me a joke', text: 'joke' }),
      linkAction({ label: 'Open the docs', url: 'https://github.com/', text: 'I opened the docs' }),
    ],
  });

const wait = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));

// Every turn: note who we are talking to. Middleware runs before the handlers below.
bot.use(async (ctx, next) => {
  ctx.log.debug({ events: [...ctx.events] }, 'turn');
  await next();
});

bot.hears(/^(hi|hello|menu|start)\b/i, (ctx) => ctx.reply(`Hi ${ctx.user.name || 'there'}!`, menu()));

bot.postback('action=book', async (ctx) => {
  ctx.session.step = 'askName';
  await ctx.reply('Booking a table. What name should I put it under?');
});

bot.postback('action=slow', async (ctx) => {
  // The user sees R at once, then, from 5 s into the work on, "is typing…" (the spec's typing rules).
  await ctx.markRead();
  const took = await ctx.withTyping(async () => {
    const started = clock.now();
    await wait(settings.slowWorkMs);
    return clock.now() - started;
  });
  await ctx.reply(`Done: that took ${(took / 1000).toFixed(1)} s. You saw me typing from 5 s on.`);
});

const joke = 'Why did the bot cross the chat? To get to the other side of the 30-second typing timeout.';
bot.on('tap:text', (ctx) => (ctx.text === 'joke' ? ctx.reply(joke) : undefined));
bot.hears(/^joke$/i, (ctx) => ctx.reply(joke));
bot.on('tap:link', (ctx) => {
  ctx.log.info({ url: ctx.action.link.url }, 'user opened a link');
});

// The booking flow: the session remembers where the user is.
bot.on('text', async (ctx, next) => {
  const s = ctx.session;
  if (s.step === 'askName') {
    s.name = ctx.message.text.trim().slice(0, 40);
    s.step = 'askCity';
    await ctx.reply(`Thanks ${s.name}. Which city?`);
    return;
  }
  if (s.step === 'askCity') {
    s.city = ctx.message.text.trim().slice(0, 40);
    // Under a second: withTyping shows no typing for work this quick (it would from 5 s on).
    await ctx.withTyping(() => wait(Math.min(settings.slowWorkMs, 1000)));
    s.bookings++;
    s.step = 'idle';
    const sent = await ctx.reply(`Booked: a table for ${s.name} in ${s.city}. That is booking #${s.bookings}.`);
    s.confirmationMid = sent.messages[0]?.mid;
    return;
  }
  await next();
});

bot.on('image', (ctx) => ctx.reply('Nice picture! Here it is back:', ctx.message.image));
bot.on('unknown', (ctx) => ctx.reply(`I can't show ${ctx.message.type} messages yet.`));
bot.on('text', (ctx) => ctx.reply(`You said "${ctx.message.text}". Say "menu" to see what I can do.`));

// Delivery events: log every one, and answer when the user reads their booking confirmation.
bot.on('delivered', (ctx) => {
  ctx.log.info({ mid: ctx.delivery.mid }, 'message delivered');
});
bot.on('read', async (ctx) => {
  if (ctx.delivery.mid === ctx.session.confirmationMid) {
    ctx.session.confirmationMid = undefined;
    await ctx.reply('I see you read your confirmation. Enjoy your meal!');
  }
});

// The user left: forget them. Nothing can be sent any more.
bot.on('leave', (ctx) => {
  ctx.log.info({ bookings: ctx.session.bookings }, 'user left; session cleared');
  ctx.clearSession();
});

bot.catch((err, ctx) => {
  ctx.log.error({ err }, 'showcase handler failed');
});

export default bot;
