/**
 * expectReply's patterns at run time: deep (as typed), arrays element by element, RegExps for
 * strings, and messages or actions built with the bot's own builders, the way the bot built them.
 */
import { buttons, createBot, createTestHarness, image, postback, textAction, type TestHarness } from '../../src/index.js';
import { diffLines } from '../../src/testing/reply-diff.js';
import { matchesPattern } from '../../src/testing/reply-pattern.js';

const sizes = buttons({
  title: 'Size?',
  desc: 'Pick a size',
  actions: [postback({ label: 'Small', data: 'size=s' }), postback({ label: 'Large', data: 'size=l' }), textAction({ label: 'Menu', text: 'menu' })],
});
const bot = createBot({ name: 'Pizza' });
bot.hears('order', (ctx) => ctx.reply(sizes, image({ url: 'https://example.com/pizza.png', preview: 'https://example.com/p.png' })));

describe('reply patterns', () => {
  let h: TestHarness<typeof bot>;
  beforeAll(async () => {
    h = await createTestHarness(bot);
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    h.newChat();
    await h.userSays('order');
  });

  it('match a message built with the same builders as the bot, as it is', () => {
    h.expectReply(sizes);
    h.expectReply(image({ url: 'https://example.com/pizza.png', preview: 'https://example.com/p.png' }));
  });

  it('match deep: nested fields, builder-made actions in a list, RegExps for strings', () => {
    h.expectReply({
      type: 'buttons',
      buttons: {
        title: /size/i,
        actions: [postback({ label: 'Small', data: 'size=s' }), { postback: { data: 'size=l' } }, textAction({ label: 'Menu', text: 'menu' })],
      },
    });
    h.expectReply({ type: 'image', image: { url: /pizza\.png$/ } });
  });

  it('fail when a list has an element more or less, or a field differs deep inside', () => {
    expect(() => h.expectReply({ type: 'buttons', buttons: { actions: [postback({ label: 'Small', data: 'size=s' })] } })).toThrow(/"actions"/);
    expect(() => h.expectReply({ type: 'buttons', buttons: { actions: [{}, { postback: { data: 'size=xl' } }, {}] } })).toThrow(/-\s+"data": "size=xl",\n\+\s+"data": "size=l",/);
    expect(() => h.expectReply(buttons({ desc: 'Pick a size', actions: [] }))).toThrow();
    expect(() => h.expectReply('Size?')).toThrow(/the text "Size\?"/);
  });
});

describe('matchesPattern', () => {
  it('reads undefined in a pattern as "absent", and never matches a RegExp against a non-string', () => {
    expect(matchesPattern({ a: undefined }, {})).toBe(true);
    expect(matchesPattern({ a: undefined }, { a: 1 })).toBe(false);
    expect(matchesPattern(/1/, 1)).toBe(false);
    expect(matchesPattern({ a: 1 }, [1])).toBe(false);
    expect(matchesPattern([1, 2], [1, 2])).toBe(true);
    expect(matchesPattern(/x/g, 'x') && matchesPattern(/x/g, 'x')).toBe(true);
  });
});

describe('diffLines', () => {
  it('shows shared lines once, and each change as expected lines then received lines', () => {
    expect(diffLines(['{', 'a', 'b', 'c', '}'], ['{', 'a', 'B', 'c', 'd', '}'])).toEqual(['  {', '  a', '- b', '+ B', '  c', '+ d', '  }']);
  });
});
