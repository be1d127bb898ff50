/**
 * The reference bot: it says back exactly what it is sent. A text gets the same text, an image the
 * same image (url and preview), a postback a text naming its data. Nothing more.
 */
import { createBot } from '../../src/index.js';

const bot = createBot({ name: 'EchoBot' });

bot.on('text', (ctx) => ctx.reply(ctx.message.text));
bot.on('image', (ctx) => ctx.reply(ctx.message.image));
bot.on('postback', (ctx) => ctx.reply(`postback: ${ctx.postback.data}`));

export default bot;
