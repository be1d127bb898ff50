/* global document, window, fetch, EventSource, IntersectionObserver, setTimeout, clearTimeout, URL */
/**
 * The BBM emulator's web chat. Plain DOM code, no framework and no build: the page keeps a copy of
 * the emulator's state, fed by Server-Sent Events (`/api/events`), and acts through the JSON API
 * under `/api`. Everything a bot sends is untrusted: it only ever reaches the page as textContent
 * or as a checked http(s) URL, never as HTML.
 */
import { dialogPanel } from './dialog.js';

const state = {
  config: null,
  users: new Map(),
  chats: new Map(),
  faults: [],
  traffic: [],
  /** Chats the person hid from the middle area. */
  hidden: new Set(),
  filter: '',
};

/** Per chat: its column's elements and what was rendered. */
const columns = new Map();
/** Bot mids already reported delivered / read (so each is reported once). */
const reportedDelivered = new Set();
const reportedRead = new Set();

const $ = (sel, root = document) => root.querySelector(sel);

/** Creates an element; string children become text nodes, so nothing is ever parsed as HTML. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** Only http(s) URLs reach src/href: a bot cannot smuggle javascript: or data: links in. */
function safeUrl(value) {
  try {
    const u = new URL(String(value));
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

const time = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const timeSec = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const codePoints = (s) => [...s].length;

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Error(data.message || `${res.status}`);
  return data;
}

/** Failures of the page's own calls are rare (a closed chat, a stopped emulator): say so, briefly. */
function report(err) {
  const toast = h('div', { class: 'toast', role: 'alert', text: err instanceof Error ? err.message : String(err) });
  document.body.append(toast);
  setTimeout(() => toast.remove(), 6000);
}

// ---------------------------------------------------------------------------------------------
// Live updates

function connect() {
  const conn = $('#conn');
  const es = new EventSource('/api/events');
  es.onopen = () => {
    conn.dataset.state = 'live';
    $('.label', conn).textContent = 'live';
  };
  es.onerror = () => {
    conn.dataset.state = 'down';
    $('.label', conn).textContent = 'reconnecting…';
  };
  es.onmessage = (ev) => {
    const event = JSON.parse(ev.data);
    switch (event.type) {
      case 'snapshot':
        state.config = event.state.config;
        state.users = new Map(event.state.users.map((u) => [u.id, u]));
        state.chats = new Map(event.state.chats.map((c) => [c.chatId, c]));
        state.faults = event.state.faults;
        state.traffic = event.state.traffic;
        renderAll();
        break;
      case 'config':
        state.config = event.config;
        renderConfig();
        for (const chat of state.chats.values()) renderChat(chat);
        break;
      case 'user':
        state.users.set(event.user.id, event.user);
        renderUsers();
        break;
      case 'chat':
        state.chats.set(event.chat.chatId, event.chat);
        renderUsers();
        renderChat(event.chat);
        renderFilter();
        break;
      case 'faults':
        state.faults = event.faults;
        renderFaults();
        break;
      case 'traffic': {
        // A known id is a pending callback that got its answer: replaced in place.
        const at = state.traffic.findIndex((e) => e.id === event.entry.id);
        if (at >= 0) {
          state.traffic[at] = event.entry;
          replaceTraffic(event.entry);
        } else {
          state.traffic.unshift(event.entry);
          if (state.traffic.length > 500) state.traffic.length = 500;
          addTraffic(event.entry);
        }
        dialogs.touched(event.entry.chatId);
        break;
      }
      case 'traffic-cleared':
        state.traffic = [];
        renderTraffic();
        break;
    }
  };
}

function renderAll() {
  renderConfig();
  renderUsers();
  for (const chatId of [...columns.keys()]) if (!state.chats.has(chatId)) removeColumn(chatId);
  for (const chat of state.chats.values()) renderChat(chat);
  renderFaults();
  renderFilter();
  renderTraffic();
}

// ---------------------------------------------------------------------------------------------
// Top bar

/**
 * The bot's name as the page shows it. The emulator learns it from the userInfos of the bot's first
 * send (unless it was started with one): until then a neutral "the bot", never a made-up name.
 */
function botLabel() {
  return state.config?.botNameKnown ? state.config.botName : undefined;
}

function renderConfig() {
  const c = state.config;
  const name = botLabel();
  const info = $('#bot-info');
  info.replaceChildren(
    name
      ? h('span', { class: 'pill bot-pill' }, 'Bot ', h('b', { text: name }))
      : h('span', { class: 'pill bot-pill', title: 'The emulator learns the bot\'s name from the userInfos of its first send' }, 'Bot name not known yet'),
    h('span', { class: 'pill', title: 'Where callbacks are POSTed' }, c.botUrl ? c.botUrl : 'no bot URL (start with --bot-url)'),
    h('span', { class: 'pill', title: 'The emulated channel\'s delivery notifications' }, `Delivery notifications ${c.deliveryNotifications ? 'on' : 'off'}`),
  );
  document.title = name ? `${name} · BBM Emulator` : 'BBM Emulator';
}

// ---------------------------------------------------------------------------------------------
// Users and their chats

function renderUsers() {
  const list = $('#users');
  const rows = [];
  for (const user of state.users.values()) {
    const chats = [...state.chats.values()].filter((c) => c.userId === user.id);
    rows.push(
      h('li', {},
        h('div', { class: 'user-row' },
          h('img', { class: 'avatar', src: user.avatarUrl, alt: '', width: 30, height: 30 }),
          h('div', { class: 'name' }, h('strong', { text: user.name }), h('small', { text: user.id })),
          h('button', { type: 'button', title: `Start a new chat as ${user.name}`, onclick: () => newChat(user.id) }, 'New chat'),
        ),
        h('ul', { class: 'user-chats' },
          chats.map((c) =>
            h('li', {},
              h('label', { class: c.open ? '' : 'left' },
                h('input', {
                  type: 'checkbox',
                  checked: !state.hidden.has(c.chatId),
                  onchange: (e) => toggleChat(c.chatId, e.target.checked),
                }),
                `chat ${c.chatId}${c.open ? '' : ' (left)'}`,
              ),
            ),
          ),
        ),
      ),
    );
  }
  list.replaceChildren(...rows);
}

async function newChat(userId) {
  try {
    await api('POST', '/api/chats', { userId });
  } catch (err) {
    report(err);
  }
}

function toggleChat(chatId, visible) {
  if (visible) state.hidden.delete(chatId);
  else state.hidden.add(chatId);
  const col = columns.get(chatId);
  if (col) {
    col.root.hidden = !visible;
    if (visible) fitComposer(col);
  }
  updateEmpty();
}

function updateEmpty() {
  const anyVisible = [...columns.values()].some((c) => !c.root.hidden);
  $('#no-chats').hidden = anyVisible;
}

$('#add-user').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = e.target.elements.name;
  try {
    await api('POST', '/api/users', { name: input.value });
    input.value = '';
  } catch (err) {
    report(err);
  }
});

// ---------------------------------------------------------------------------------------------
// A chat column

function column(chat) {
  let col = columns.get(chat.chatId);
  if (col) return col;
  const root = $('#chat-template').content.firstElementChild.cloneNode(true);
  root.dataset.chatId = chat.chatId;
  col = {
    root,
    messages: $('.messages', root),
    typing: $('.typing', root),
    composer: $('.composer', root),
    textarea: $('textarea', root),
    count: $('.count', root),
    imageForm: $('.image-form', root),
    closedBar: $('.closed-bar', root),
    /** item id → { el, sig } */
    items: new Map(),
    lastTypingPing: 0,
    typingTimer: undefined,
  };
  columns.set(chat.chatId, col);
  wireColumn(chat.chatId, col);
  $('#chats').append(root);
  root.hidden = state.hidden.has(chat.chatId);
  fitComposer(col);
  updateEmpty();
  return col;
}

function removeColumn(chatId) {
  columns.get(chatId)?.root.remove();
  columns.delete(chatId);
}

function wireColumn(chatId, col) {
  const updateCount = () => {
    const n = codePoints(col.textarea.value);
    const max = state.config?.limits.text ?? 2000;
    col.count.textContent = n > max - 200 ? `${n}/${max}` : '';
    col.count.classList.toggle('over', n > max);
    $('.send', col.root).disabled = n === 0 || n > max || col.textarea.value.trim() === '';
    fitComposer(col);
  };
  updateCount();
  col.textarea.addEventListener('input', () => {
    updateCount();
    // Tell the emulator the user is typing, at most once a second; it applies the spec's rules.
    const now = Date.now();
    if (col.textarea.value !== '' && now - col.lastTypingPing > 1000) {
      col.lastTypingPing = now;
      api('POST', `/api/chats/${chatId}/typing`, {}).catch(() => {});
    }
  });
  col.textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      col.composer.requestSubmit();
    }
  });
  col.composer.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = col.textarea.value;
    if (text.trim() === '' || codePoints(text) > (state.config?.limits.text ?? 2000)) return;
    col.textarea.value = '';
    updateCount();
    const pending = showPending(col, { type: 'text', text });
    try {
      await api('POST', `/api/chats/${chatId}/messages`, { text });
    } catch (err) {
      col.textarea.value = text;
      updateCount();
      report(err);
    } finally {
      pending.remove();
    }
  });
  $('.attach', col.root).addEventListener('click', () => {
    col.imageForm.hidden = !col.imageForm.hidden;
    if (!col.imageForm.hidden) col.imageForm.elements.url.focus();
  });
  col.imageForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const url = col.imageForm.elements.url.value.trim();
    const preview = col.imageForm.elements.preview.value.trim();
    try {
      await api('POST', `/api/chats/${chatId}/messages`, { image: { url, ...(preview ? { preview } : {}) } });
      col.imageForm.reset();
      col.imageForm.hidden = true;
    } catch (err) {
      report(err);
    }
  });
  $('.leave', col.root).addEventListener('click', () => api('POST', `/api/chats/${chatId}/leave`, {}).catch(report));
  $('.reopen', col.root).addEventListener('click', () => api('POST', `/api/chats/${chatId}/reopen`, {}).catch(report));
  $('.hide', col.root).addEventListener('click', () => {
    toggleChat(chatId, false);
    renderUsers();
  });
}

/**
 * Grows the message box with its text, from one line to the CSS max-height. A box that is not laid
 * out (not yet in the page, or hidden) measures 0: it is left to the CSS and fitted when shown.
 */
function fitComposer(col) {
  const box = col.textarea;
  box.style.height = '';
  if (box.offsetParent === null) return;
  const border = box.offsetHeight - box.clientHeight;
  box.style.height = `${Math.min(box.scrollHeight + border, 120)}px`;
}

/** The 🕒 bubble shown between pressing Send and the emulator taking the message. */
function showPending(col, content) {
  const el = h('div', { class: 'item user pending' },
    h('div', { class: 'bubble', text: content.text }),
    h('div', { class: 'meta' }, h('span', { class: 'glyph', title: 'Waiting', text: '🕒' })),
  );
  col.messages.append(el);
  col.messages.scrollTop = col.messages.scrollHeight;
  return el;
}

function renderChat(chat) {
  const col = column(chat);
  const user = state.users.get(chat.userId);
  const bot = botLabel() ?? 'The bot';
  $('.bot-name', col.root).textContent = bot;
  $('.sub', col.root).textContent = `${user ? user.name : chat.userId} · chat ${chat.chatId}${chat.open ? '' : ' · left'}`;
  $('.bot-avatar', col.root).src = '/favicon.svg';
  $('.leave', col.root).hidden = !chat.open;
  col.closedBar.hidden = chat.open;
  if (col.composer.hidden === chat.open) {
    col.composer.hidden = !chat.open;
    fitComposer(col);
  }
  if (!chat.open) col.imageForm.hidden = true;
  col.root.classList.toggle('closed', !chat.open);

  const nearBottom = col.messages.scrollHeight - col.messages.scrollTop - col.messages.clientHeight < 60;
  const seen = new Set();
  let previous = null;
  for (const item of chat.items) {
    seen.add(item.id);
    // The signature changes whenever anything shown changes; unchanged items are left alone.
    const sig = JSON.stringify([item.state, item.error, chat.open, bot]);
    let entry = col.items.get(item.id);
    if (!entry || entry.sig !== sig) {
      const el = renderItem(chat, item);
      if (entry) entry.el.replaceWith(el);
      entry = { el, sig };
      col.items.set(item.id, entry);
    }
    const expectedPosition = previous ? previous.nextSibling : col.messages.firstChild;
    if (entry.el !== expectedPosition) col.messages.insertBefore(entry.el, expectedPosition);
    previous = entry.el;
    if (item.from === 'bot') trackDelivery(chat, item, entry.el);
  }
  for (const [id, entry] of col.items) {
    if (!seen.has(id)) {
      entry.el.remove();
      col.items.delete(id);
    }
  }
  // Keep 🕒 bubbles last.
  for (const p of col.messages.querySelectorAll('.pending')) col.messages.append(p);
  if (nearBottom) col.messages.scrollTop = col.messages.scrollHeight;

  col.typing.hidden = !chat.botTyping || !chat.open;
  $('.typing-text', col.typing).textContent = `${bot} is typing…`;
}

const GLYPHS = {
  accepted: ['✓', 'Accepted: the platform has it'],
  waiting: ['🕒', 'Waiting: the bot asked for it again later'],
  delivered: ['D', 'Delivered'],
  read: ['R', 'Read'],
  error: ['✖', 'Error'],
};

function glyph(item) {
  let [g, label] = GLYPHS[item.state] ?? ['?', item.state];
  // A tap is an action: the bot never reads it, so "received" is all there is to show.
  if (item.kind === 'postback' && item.state === 'delivered') [g, label] = ['✓', 'The bot received the tap'];
  return h('span', {
    class: `glyph state-${item.state}`,
    title: item.state === 'error' && item.error ? `${label}: ${item.error}` : item.state === 'waiting' && item.retry ? `Waiting: ${item.retry}` : label,
    dataset: { state: item.state },
    text: g,
  });
}

function renderItem(chat, item) {
  if (item.from === 'system') return h('div', { class: 'item system', dataset: { id: item.id }, text: item.text });
  if (item.from === 'user') {
    let bubble;
    if (item.kind === 'postback') {
      const pb = item.postback;
      bubble = h('div', { class: 'bubble postback', title: `postback data: ${pb.data}` }, `⤷ ${pb.text || pb.label || pb.data}`);
    } else if (item.content.type === 'image') {
      const src = safeUrl(item.content.image.preview || item.content.image.url);
      bubble = h('div', { class: 'bubble media' }, src ? h('img', { src, alt: 'image you sent', loading: 'lazy' }) : item.content.image.url);
    } else {
      bubble = h('div', { class: 'bubble', text: item.content.text });
    }
    return h('div', { class: 'item user', dataset: { id: item.id, state: item.state } },
      bubble,
      h('div', { class: 'meta' },
        item.state === 'error' && item.error ? h('span', { class: 'error-text', text: item.error }) : null,
        h('span', { text: time(item.ts) }),
        glyph(item),
      ),
    );
  }
  // The bot's message.
  const el = h('div', { class: 'item bot', dataset: { id: item.id, type: item.message.type, state: item.state } },
    renderBotMessage(chat, item),
    h('div', { class: 'meta' },
      h('span', { text: time(item.ts) }),
      state.config?.deliveryNotifications ? glyph(item) : null,
    ),
  );
  return el;
}

function renderBotMessage(chat, item) {
  const m = item.message;
  switch (m.type) {
    case 'text':
      return h('div', { class: 'bubble', text: m.text });
    case 'image': {
      const src = safeUrl(m.image.preview || m.image.url);
      const href = safeUrl(m.image.url);
      const img = src ? h('img', { src, alt: 'image from the bot', loading: 'lazy' }) : h('span', { text: m.image.url });
      return h('div', { class: 'bubble media' }, href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, img) : img);
    }
    case 'link': {
      const href = safeUrl(m.link.url);
      const label = h('span', { class: 'url', text: m.link.url });
      return h('div', { class: 'bubble' },
        href
          ? h('a', { class: 'link-card', href, target: '_blank', rel: 'noopener noreferrer', title: `opens ${m.link.target === 'ext' ? 'in an external browser' : 'in a webview'}` }, '🔗 ', label)
          : label,
      );
    }
    case 'buttons': {
      const b = m.buttons;
      const img = b.imageUrl ? safeUrl(b.imageUrl) : undefined;
      return h('div', { class: 'card' },
        img ? h('img', { src: img, alt: '', loading: 'lazy' }) : null,
        h('div', { class: 'card-body' },
          b.title ? h('div', { class: 'card-title', text: b.title }) : null,
          h('div', { class: 'card-desc', text: b.desc }),
        ),
        h('div', { class: 'actions' },
          b.actions.map((a, i) => {
            const label = a[a.type].label;
            return h('button', {
              type: 'button',
              disabled: !chat.open,
              dataset: { action: a.type },
              title: a.type === 'postback' ? `postback: ${a.postback.data}` : a.type === 'link' ? a.link.url : `says "${a.text.text}"`,
              onclick: () => tap(chat.chatId, item.id, i, a),
            }, label, a.type === 'link' ? h('span', { class: 'kind', text: '↗' }) : null);
          }),
        ),
      );
    }
    default:
      return h('div', { class: 'bubble', text: `(${m.type} message)` });
  }
}

function tap(chatId, mid, index, action) {
  // Opened here, in the click, or the browser blocks the new tab.
  if (action.type === 'link') {
    const href = safeUrl(action.link.url);
    if (href) window.open(href, '_blank', 'noopener,noreferrer');
  }
  api('POST', `/api/chats/${chatId}/tap`, { mid, action: index }).catch(report);
}

// ---------------------------------------------------------------------------------------------
// Delivery and read reports (delivery notifications on): dlv when a bot message reaches the page,
// read when it is on screen while the page has the focus.

const readQueue = new Map();
let readTimer;
const observer = new IntersectionObserver((entries) => {
  for (const e of entries) {
    if (!e.isIntersecting) continue;
    const el = e.target;
    el.dataset.visible = '1';
    maybeRead(el);
  }
}, { threshold: 0.6 });

function trackDelivery(chat, item, el) {
  if (!state.config?.deliveryNotifications || !chat.open) return;
  el.dataset.chatId = chat.chatId;
  if (item.state === 'accepted' && !reportedDelivered.has(item.id)) {
    reportedDelivered.add(item.id);
    api('POST', `/api/chats/${chat.chatId}/delivered`, { mids: [item.id] }).catch(() => {});
  }
  if (item.state !== 'read' && !reportedRead.has(item.id)) observer.observe(el);
}

function maybeRead(el) {
  const mid = el.dataset.id;
  if (!el.dataset.visible || reportedRead.has(mid) || el.closest('[hidden]')) return;
  if (document.visibilityState !== 'visible' || !document.hasFocus()) return;
  reportedRead.add(mid);
  observer.unobserve(el);
  const chatId = el.dataset.chatId;
  if (!readQueue.has(chatId)) readQueue.set(chatId, []);
  readQueue.get(chatId).push(mid);
  clearTimeout(readTimer);
  readTimer = setTimeout(flushReads, 400);
}

function flushReads() {
  for (const [chatId, mids] of readQueue) api('POST', `/api/chats/${chatId}/read`, { mids }).catch(() => {});
  readQueue.clear();
}

/** Coming back to the page reads what became visible meanwhile. */
function recheckReads() {
  for (const el of document.querySelectorAll('.item.bot[data-visible="1"]')) maybeRead(el);
}
window.addEventListener('focus', recheckReads);
document.addEventListener('visibilitychange', recheckReads);

// ---------------------------------------------------------------------------------------------
// Faults

const faultForm = $('#fault-form');
function syncFaultFields() {
  const kind = faultForm.elements.kind.value;
  for (const label of faultForm.querySelectorAll('label[data-for]')) label.hidden = !label.dataset.for.split(' ').includes(kind);
}
faultForm.elements.kind.addEventListener('change', syncFaultFields);
syncFaultFields();
faultForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = faultForm.elements;
  const kind = f.kind.value;
  const spec = { kind, count: Number(f.count.value) };
  if (kind !== 'latency' && f.retryAfterSeconds.value !== '') spec.retryAfterSeconds = Number(f.retryAfterSeconds.value);
  if (kind === '207') {
    spec.code = Number(f.code.value);
    spec.messageIndex = Number(f.messageIndex.value || 1);
  }
  if (kind === 'latency') spec.latencyMs = Number(f.latencyMs.value);
  try {
    await api('POST', '/api/faults', spec);
  } catch (err) {
    report(err);
  }
});
$('#clear-faults').addEventListener('click', () => api('DELETE', '/api/faults').catch(report));

function describeFault(f) {
  const n = `next ${f.remaining} send${f.remaining === 1 ? '' : 's'}`;
  switch (f.kind) {
    case '429': return `429 Too Many Requests (Retry-After ${f.retryAfterSeconds} s), ${n}`;
    case '503': return `503 Unavailable${f.retryAfterSeconds !== undefined ? ` (Retry-After ${f.retryAfterSeconds} s)` : ''}, ${n}`;
    case '207': return `207: message #${f.messageIndex} fails with ${f.code}, ${n}`;
    case 'latency': return `+${f.latencyMs} ms latency, ${n}`;
    default: return f.kind;
  }
}

function renderFaults() {
  $('#faults').replaceChildren(
    ...state.faults.map((f) =>
      h('li', { dataset: { kind: f.kind } },
        h('span', { text: describeFault(f) }),
        h('button', { type: 'button', title: 'Disarm', 'aria-label': 'Disarm', onclick: () => api('DELETE', `/api/faults/${f.id}`).catch(report) }, '×'),
      ),
    ),
  );
  $('#clear-faults').hidden = state.faults.length === 0;
}

// ---------------------------------------------------------------------------------------------
// Inspector

const filter = $('#filter');
filter.addEventListener('change', () => {
  state.filter = filter.value;
  renderTraffic();
  dialogs.show(state.filter);
});
$('#clear-traffic').addEventListener('click', () => api('DELETE', '/api/traffic').catch(report));

function renderFilter() {
  const options = [h('option', { value: '', text: 'All chats' })];
  for (const c of state.chats.values()) {
    const user = state.users.get(c.userId);
    options.push(h('option', { value: c.chatId, text: `${user ? user.name : c.userId} · ${c.chatId}` }));
  }
  filter.replaceChildren(...options);
  filter.value = state.chats.has(state.filter) ? state.filter : '';
  state.filter = filter.value;
  dialogs.show(state.filter);
}

function renderTraffic() {
  const list = $('#traffic');
  const shown = state.traffic.filter((e) => !state.filter || e.chatId === state.filter).slice(0, 300);
  list.replaceChildren(...shown.map(trafficEntry));
  if (shown.length === 0) list.append(h('li', { class: 'empty-traffic', text: 'Nothing yet. Send a message and every request appears here, newest first.' }));
}

function addTraffic(entry) {
  if (state.filter && entry.chatId !== state.filter) return;
  const list = $('#traffic');
  $('.empty-traffic', list)?.remove();
  list.prepend(trafficEntry(entry));
  while (list.children.length > 300) list.lastChild.remove();
}

function replaceTraffic(entry) {
  const old = [...$('#traffic').children].find((el) => el.dataset.id === String(entry.id));
  if (!old) return;
  const next = trafficEntry(entry);
  old.replaceWith(next);
  if (old.open) next.open = true;
}

const DIRECTIONS = { callback: 'BBM → bot', api: 'bot → Chat API', token: 'bot → token' };

function summarize(entry) {
  const body = entry.kind === 'token' ? null : entry.requestBody;
  const parts = [];
  if (body && typeof body === 'object') {
    for (const a of body.actions ?? []) parts.push(a.type === 'postback' ? `postback ${JSON.stringify(a.postback?.data ?? '')}` : a.type);
    for (const m of body.messages ?? []) {
      if (m.type === 'text') parts.push(`text ${JSON.stringify(String(m.text).slice(0, 60))}`);
      else parts.push(m.type);
    }
  }
  if (entry.chatId) parts.push(`chat ${entry.chatId}`);
  const failed = entry.status === null || entry.status >= 300;
  if (entry.attempt && !entry.pending && (entry.attempt.n > 1 || failed)) parts.push(`attempt ${entry.attempt.n}/${entry.attempt.of}`);
  // A retry points at the callback it repeats (all of it, or the messages the bot asked for again).
  if (entry.retryOf !== undefined) parts.push(`retry of #${entry.retryOf}`);
  if (entry.error) parts.push(entry.error);
  return parts.join(' · ');
}

function trafficEntry(entry) {
  const statusClass = entry.pending ? 'pending' : `s${entry.status === null ? 0 : String(entry.status)[0]}`;
  const path = entry.url.replace(/^https?:\/\/[^/]+/, '');
  const details = h('details', { class: `entry kind-${entry.kind}`, dataset: { id: entry.id, kind: entry.kind, status: entry.status ?? 'none' } });
  details.dataset.pending = entry.pending ? '1' : '';
  details.append(
    h('summary', {},
      h('span', { class: 'dir', text: DIRECTIONS[entry.kind] }),
      h('span', { class: 'method', text: entry.method }),
      h('span', { class: 'path', text: path, title: entry.url }),
      h('span', { class: `status ${statusClass}`, title: entry.pending ? 'waiting for the answer' : undefined, text: entry.pending ? '…' : entry.status === null ? '—' : String(entry.status) }),
      // Callbacks show their number: a retry names the one it repeats by it.
      h('span', { class: 'summary', text: `${entry.kind === 'callback' ? `#${entry.id} · ` : ''}${timeSec(entry.at)} · ${entry.durationMs} ms${summarize(entry) ? ` · ${summarize(entry)}` : ''}` }),
      entry.notes.map((n) => h('span', { class: 'note', text: `⚠ ${n}` })),
    ),
  );
  // Details are built when first opened: hundreds of entries stay cheap.
  details.addEventListener('toggle', () => {
    if (!details.open || details.dataset.built) return;
    details.dataset.built = '1';
    details.append(
      h('div', { class: 'detail' },
        h('h4', { text: 'Request' }),
        json({ url: entry.url, headers: entry.requestHeaders }),
        entry.requestBody !== undefined ? json(entry.requestBody) : null,
        h('h4', { text: entry.status === null ? `No answer${entry.error ? `: ${entry.error}` : ''}` : `Response ${entry.status}` }),
        Object.keys(entry.responseHeaders).length ? json({ headers: entry.responseHeaders }) : null,
        entry.responseBody !== undefined ? json(entry.responseBody) : null,
      ),
    );
  });
  return details;
}

/** Pretty JSON with colours, built from text nodes only. */
function json(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  const pre = h('pre');
  const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) pre.append(text.slice(last, m.index));
    if (m[1]) {
      pre.append(h('span', { class: m[2] ? 'k' : 's', text: m[1] }));
      if (m[2]) pre.append(m[2]);
    } else if (m[3]) pre.append(h('span', { class: 'b', text: m[3] }));
    else pre.append(h('span', { class: 'n', text: m[4] }));
    last = m.index + m[0].length;
  }
  if (last < text.length) pre.append(text.slice(last));
  return pre;
}

// The chosen chat's running dialog (the filter picks the chat), above its traffic.
const dialogs = dialogPanel($('#dialog'), { h, json });
connect();
