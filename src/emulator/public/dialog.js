/* global document, setInterval, fetch */
/**
 * The inspector's dialog panel: for the chat picked in the inspector's filter, the conversation
 * the bot is running in it (its name, what it waits for, its timeout counting down, turns, journal
 * length, when it started and last moved), read from `GET /api/chats/:id/dialog`. The emulator can
 * only answer when it was given a way to read the bot's store (npm run dev gives one); otherwise the
 * panel shows the emulator's reason. Refreshed on the chat's traffic and every 2 s while shown, so a
 * timeout firing in the bot on its own shows too. Bot data reaches the page as text only.
 */

const POLL_MS = 2000;

/** `m:ss` (or `h:mm:ss`) of a positive duration. */
function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

const when = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/**
 * Builds the panel in `root`. `h` and `json` are the page's safe element builders (text only).
 * Returns `show(chatId)` (the filter changed; '' for all chats) and `touched(chatId)` (traffic of a chat).
 */
export function dialogPanel(root, { h, json }) {
  let chatId = '';
  /** The last answer, and when (page clock) it came: the countdown runs from it between polls. */
  let shown = null;
  let receivedAt = 0;
  let busy = false;
  let again = false;

  const body = h('div', { class: 'dialog-body' });
  root.append(h('h3', { text: 'Dialog' }), body);

  function render() {
    const d = shown;
    root.dataset.status = chatId === '' ? 'no-chat' : d ? d.status : 'loading';
    if (chatId === '') return body.replaceChildren(h('p', { class: 'dialog-note', text: 'Pick a chat above to see its dialog.' }));
    if (!d) return body.replaceChildren(h('p', { class: 'dialog-note', text: 'Reading…' }));
    switch (d.status) {
      case 'none':
        return body.replaceChildren(h('p', { class: 'dialog-note', text: 'No dialog is running in this chat.' }));
      case 'unavailable':
        return body.replaceChildren(h('p', { class: 'dialog-note', text: d.reason }));
      case 'error':
        return body.replaceChildren(h('p', { class: 'dialog-note dialog-error', text: d.message }));
      case 'unrecognized':
        return body.replaceChildren(h('p', { class: 'dialog-note', text: `${d.reason}. As stored:` }), json(d.raw));
      case 'active':
        return body.replaceChildren(active(d));
      default:
        return body.replaceChildren(h('p', { class: 'dialog-note', text: 'An answer this page does not know. As sent:' }), json(d));
    }
  }

  function row(label, value, cls) {
    return [h('dt', { text: label }), h('dd', { class: cls, text: value })];
  }

  function timeoutText(d) {
    if (d.timeoutAt === undefined) return d.waitsFor === undefined ? '—' : 'none';
    const left = (d.timeoutInMs ?? d.timeoutAt - Date.now()) - (Date.now() - receivedAt);
    return left > 0 ? `in ${clock(left)} (at ${when(d.timeoutAt)})` : `due since ${when(d.timeoutAt)} (the bot fires it shortly)`;
  }

  function active(d) {
    const list = h('dl', { class: 'dialog-fields' },
      row('Name', d.name, 'dialog-name'),
      d.subflows ? row('In sub-flow', d.subflows.join(' › '), 'dialog-subflows') : null,
      row('Waits for', d.waitsFor ?? 'nothing (running, or between steps)', 'dialog-waits'),
      row('Timeout', timeoutText(d), 'dialog-timeout'),
      d.turns !== undefined ? row('Turns', String(d.turns), 'dialog-turns') : null,
      d.journalLength !== undefined ? row('Journal', `${d.journalLength} ${d.journalLength === 1 ? 'entry' : 'entries'}`, 'dialog-journal') : null,
      d.startedAt !== undefined ? row('Started', when(d.startedAt), 'dialog-started') : null,
      d.updatedAt !== undefined ? row('Updated', when(d.updatedAt), 'dialog-updated') : null,
    );
    const raw = h('details', { class: 'dialog-raw' }, h('summary', { text: 'Stored record' }));
    raw.addEventListener('toggle', () => {
      if (raw.open && !raw.dataset.built) {
        raw.dataset.built = '1';
        raw.append(json(d.raw));
      }
    });
    return h('div', {}, list, raw);
  }

  /** One request at a time: a change meanwhile asks once more; an answer for a chat no longer shown is dropped. */
  async function refresh() {
    if (chatId === '') return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    const forChat = chatId;
    try {
      const res = await fetch(`/api/chats/${encodeURIComponent(forChat)}/dialog`, { cache: 'no-store' });
      const data = await res.json().catch(() => ({}));
      const next = res.ok ? data.dialog : { status: 'error', message: data.message || `the emulator answered ${res.status}` };
      if (forChat === chatId) {
        const openRaw = root.querySelector('.dialog-raw')?.open;
        shown = next;
        receivedAt = Date.now();
        render();
        if (openRaw) root.querySelector('.dialog-raw')?.setAttribute('open', '');
      }
    } catch {
      if (forChat === chatId) {
        shown = { status: 'error', message: 'The emulator did not answer.' };
        render();
      }
    } finally {
      busy = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  }

  let ticks = 0;
  setInterval(() => {
    if (chatId === '' || document.hidden) return;
    // The countdown every second; a fresh read every POLL_MS.
    const el = root.querySelector('.dialog-timeout');
    if (el && shown?.status === 'active') el.textContent = timeoutText(shown);
    if (++ticks % (POLL_MS / 1000) === 0) void refresh();
  }, 1000);

  render();
  return {
    show(next) {
      if (next === chatId) return;
      chatId = next;
      shown = null;
      render();
      void refresh();
    },
    touched(id) {
      if (id && id === chatId) void refresh();
    },
  };
}
