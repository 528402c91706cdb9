// The Whale chat page: conversations stored by the server (/api/conversations), answers streamed from
// /v1/chat/completions. All model text goes through renderMarkdown (sanitized); titles and user text are set as text.
import 'katex/dist/katex.min.css';
import './style.css';
import { renderMarkdown } from './markdown.js';
import { ApiError, apiKey, request, streamChat } from './api.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
};

const DEFAULT_SETTINGS = { system_prompt: '', temperature: 0.6, max_tokens: 2048 };
const state = {
  models: [],
  conversations: [],
  current: null, // { id, title, model, settings, messages } or null for a chat not yet saved
  generating: null, // { controller, conversationId }
  deepThink: localStorage.getItem('whale.deepThink') !== '0',
  defaults: { ...DEFAULT_SETTINGS, ...safeJson(localStorage.getItem('whale.settings')) },
  retry: null,
};

function safeJson(text) {
  try { return JSON.parse(text) ?? {}; } catch { return {}; }
}

// ---------- theme ----------
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem('whale.theme', theme);
}
applyTheme(localStorage.getItem('whale.theme') || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
$('theme').addEventListener('click', () => applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'));

// ---------- errors ----------
function describe(err) {
  if (err instanceof ApiError) {
    if (err.status === 429) return 'The server is busy: too many requests are waiting (queue full). Try again in a moment.';
    if (err.code === 'context_length_exceeded')
      return `This conversation is too long for the model's context. ${err.message} Start a new chat, or edit an earlier message to shorten it.`;
    if (err.status === 422) return `A setting is out of range${err.param ? ` (${err.param})` : ''}: ${err.message}`;
    if (err.status === 503) return `The server is not available: ${err.message}`;
    return `Error ${err.status}: ${err.message}`;
  }
  if (err instanceof TypeError) return 'Cannot reach the server. Is whale serve still running?';
  return String(err?.message ?? err);
}

function showError(err, retry) {
  $('error-text').textContent = describe(err);
  $('error').dataset.status = err instanceof ApiError ? String(err.status) : 'network';
  $('error-retry').hidden = !retry;
  state.retry = retry ?? null;
  $('error').hidden = false;
}
function clearError() {
  $('error').hidden = true;
  state.retry = null;
}
$('error-dismiss').addEventListener('click', clearError);
$('error-retry').addEventListener('click', () => {
  const retry = state.retry;
  clearError();
  retry?.();
});

/** Runs an API call; a 401 asks for a key and then runs it again. */
async function withKey(fn) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      await askKey(apiKey.get() ? 'That key was refused by the server.' : '');
      return withKey(fn);
    }
    throw err;
  }
}

function askKey(message) {
  return new Promise((resolve) => {
    const dialog = $('keydialog');
    $('key-error').textContent = message;
    $('key-error').hidden = !message;
    $('key-input').value = '';
    dialog.onclose = () => {
      const key = $('key-input').value.trim();
      if (!key) { dialog.showModal(); return; }
      apiKey.set(key);
      dialog.onclose = null;
      resolve();
    };
    dialog.showModal();
  });
}

// ---------- models and settings ----------
function currentSettings() {
  return { ...state.defaults, ...(state.current?.settings ?? {}) };
}
function selectedModel() {
  return state.models.find((m) => m.id === $('model').value) ?? null;
}

async function loadModels() {
  const list = await withKey(() => request('GET', '/v1/models'));
  state.models = list.data;
  const select = $('model');
  select.replaceChildren(...state.models.map((m) => el('option', { value: m.id, disabled: m.chat === false, textContent: m.chat === false ? `${m.id} (no chat template)` : m.id })));
  const preferred = localStorage.getItem('whale.model');
  const chatModels = state.models.filter((m) => m.chat !== false);
  select.value = (chatModels.find((m) => m.id === preferred) ?? chatModels[0] ?? state.models[0])?.id ?? '';
  updateDeepThink();
}

function updateDeepThink() {
  const button = $('deepthink');
  const model = selectedModel();
  const anyToggle = state.models.some((m) => m.thinking_toggle);
  const can = !!model?.thinking_toggle;
  button.disabled = !can;
  button.setAttribute('aria-pressed', String(can && state.deepThink));
  button.title = can
    ? (state.deepThink ? 'DeepThink on: the model reasons before answering (click to answer directly)' : 'DeepThink off: the model answers directly (click to let it reason first)')
    : anyToggle
      ? `${model?.id ?? 'This model'} does not reason (no <think> block), so there is nothing to turn off.`
      : 'No model served here can reason or turn its reasoning off, so DeepThink is unavailable.';
}

$('deepthink').addEventListener('click', () => {
  state.deepThink = !state.deepThink;
  localStorage.setItem('whale.deepThink', state.deepThink ? '1' : '0');
  updateDeepThink();
});

$('model').addEventListener('change', async () => {
  localStorage.setItem('whale.model', $('model').value);
  updateDeepThink();
  if (state.current?.id) {
    state.current.model = $('model').value;
    try { await withKey(() => request('PATCH', `/api/conversations/${state.current.id}`, { model: state.current.model })); } catch (err) { showError(err); }
  }
});

$('open-settings').addEventListener('click', () => {
  const s = currentSettings();
  $('set-system').value = s.system_prompt ?? '';
  $('set-temp').value = String(s.temperature ?? 0.6);
  $('set-temp-value').textContent = Number(s.temperature ?? 0.6).toFixed(2);
  $('set-max').value = String(s.max_tokens ?? 2048);
  $('settings').showModal();
});
$('set-temp').addEventListener('input', () => { $('set-temp-value').textContent = Number($('set-temp').value).toFixed(2); });
$('settings').addEventListener('close', async () => {
  if ($('settings').returnValue !== 'save') return;
  const maxTokens = Math.max(1, Math.floor(Number($('set-max').value) || DEFAULT_SETTINGS.max_tokens));
  const settings = { system_prompt: $('set-system').value, temperature: Number($('set-temp').value), max_tokens: maxTokens };
  state.defaults = settings;
  localStorage.setItem('whale.settings', JSON.stringify(settings));
  if (state.current) {
    state.current.settings = settings;
    if (state.current.id) {
      try { await withKey(() => request('PATCH', `/api/conversations/${state.current.id}`, { settings })); } catch (err) { showError(err); }
    }
  }
});

// ---------- sidebar ----------
async function loadConversations() {
  const q = $('search').value.trim();
  const list = await withKey(() => request('GET', `/api/conversations${q ? `?q=${encodeURIComponent(q)}` : ''}`));
  state.conversations = list.data;
  renderSidebar();
}

function renderSidebar() {
  const nav = $('conversation-list');
  if (state.conversations.length === 0) {
    nav.replaceChildren(el('p', { className: 'list-empty', textContent: $('search').value.trim() ? 'No title matches.' : 'No conversations yet.' }));
    return;
  }
  nav.replaceChildren(...state.conversations.map((c) => {
    const item = el('div', { className: `conv-item${state.current?.id === c.id ? ' active' : ''}`, dataset: { id: c.id, testid: 'conversation' } });
    const open = el('button', { className: 'conv-open', textContent: c.title, title: c.title });
    open.addEventListener('click', () => { openConversation(c.id); closeSidebar(); });
    const rename = el('button', { className: 'icon-btn small', textContent: '✎', title: 'Rename', 'aria-label': 'Rename', dataset: { testid: 'rename' } });
    rename.addEventListener('click', () => startRename(item, c));
    const del = el('button', { className: 'icon-btn small', title: 'Delete', 'aria-label': 'Delete', dataset: { testid: 'delete' } }, trashIcon());
    del.addEventListener('click', () => deleteConversation(c));
    item.append(open, rename, del);
    return item;
  }));
}

function trashIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '13');
  svg.setAttribute('height', '13');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M6 2h4l.5 1H14v1.5H2V3h3.5zM3.5 5.5h9l-.7 8.5H4.2z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

function startRename(item, c) {
  const input = el('input', { className: 'rename-input', value: c.title, 'aria-label': 'New title', dataset: { testid: 'rename-input' } });
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    if (save && title && title !== c.title) {
      try {
        await withKey(() => request('PATCH', `/api/conversations/${c.id}`, { title }));
        if (state.current?.id === c.id) { state.current.title = title; $('chat-title').textContent = title; }
      } catch (err) { showError(err); }
    }
    await loadConversations().catch(showError);
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); finish(true); }
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); finish(false); }
  });
  input.addEventListener('blur', () => finish(true));
  item.replaceChildren(input);
  input.focus();
  input.select();
}

async function deleteConversation(c) {
  if (!confirm(`Delete "${c.title}"?`)) return;
  try {
    await withKey(() => request('DELETE', `/api/conversations/${c.id}`));
    if (state.current?.id === c.id) newChat();
    await loadConversations();
  } catch (err) { showError(err); }
}

let searchTimer = 0;
$('search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => loadConversations().catch(showError), 150);
});

function openSidebar() { document.body.classList.add('sidebar-open'); }
function closeSidebar() { document.body.classList.remove('sidebar-open'); }
$('open-sidebar').addEventListener('click', openSidebar);
$('close-sidebar').addEventListener('click', closeSidebar);
$('backdrop').addEventListener('click', closeSidebar);

// ---------- conversations ----------
function newChat() {
  stopGeneration();
  state.current = null;
  history.replaceState(null, '', location.pathname);
  $('chat-title').textContent = 'New chat';
  clearError();
  renderMessages();
  renderSidebar();
  $('input').focus();
}
$('new-chat').addEventListener('click', () => { newChat(); closeSidebar(); });

async function openConversation(id) {
  stopGeneration();
  clearError();
  try {
    const c = await withKey(() => request('GET', `/api/conversations/${encodeURIComponent(id)}`));
    state.current = c;
    history.replaceState(null, '', `#c=${c.id}`);
    $('chat-title').textContent = c.title;
    if (c.model && state.models.some((m) => m.id === c.model && m.chat !== false)) $('model').value = c.model;
    updateDeepThink();
    renderMessages();
    renderSidebar();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) { newChat(); return; }
    showError(err);
  }
}

async function ensureConversation(firstText) {
  if (state.current?.id) return state.current;
  const title = firstText.replace(/\s+/g, ' ').trim().slice(0, 60) || 'New chat';
  const c = await withKey(() => request('POST', '/api/conversations', { title, model: $('model').value || null, settings: currentSettings() }));
  state.current = c;
  history.replaceState(null, '', `#c=${c.id}`);
  $('chat-title').textContent = c.title;
  await loadConversations();
  return c;
}

// ---------- messages ----------
function copyText(text, button) {
  const done = () => { const old = button.textContent; button.textContent = 'Copied'; setTimeout(() => { button.textContent = old; }, 1200); };
  if (navigator.clipboard?.writeText) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text) && done());
  } else if (fallbackCopy(text)) done();
}
function fallbackCopy(text) {
  const area = el('textarea', { value: text });
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  area.remove();
  return ok;
}

function thinkingLabel(seconds, live) {
  if (live) return 'Thinking…';
  const s = Math.max(1, Math.round(seconds ?? 0));
  return `Thought for ${s} second${s === 1 ? '' : 's'}`;
}

function statsText(meta) {
  if (!meta) return '';
  const parts = [];
  if (meta.completion_tokens != null) parts.push(`${meta.approximate ? '~' : ''}${meta.completion_tokens} tokens`);
  if (meta.tokens_per_second) parts.push(`${meta.tokens_per_second.toFixed(1)} tok/s`);
  if (meta.prompt_tokens != null) parts.push(`prompt ${meta.prompt_tokens}${meta.cached_tokens ? ` (${meta.cached_tokens} cached)` : ''}`);
  if (meta.finish_reason === 'length') parts.push('cut at max tokens');
  if (meta.stopped) parts.push('stopped');
  if (meta.model) parts.push(meta.model);
  return parts.join(' · ');
}

/** Adds copy buttons to the rendered code blocks of a message. */
function decorateCode(container) {
  for (const block of container.querySelectorAll('.code-block')) {
    const head = block.querySelector('.code-head');
    if (!head || head.querySelector('button')) continue;
    const button = el('button', { className: 'copy-code', textContent: 'Copy', dataset: { testid: 'copy-code' } });
    button.addEventListener('click', () => copyText(block.querySelector('code')?.textContent ?? '', button));
    head.append(button);
  }
}

function userView(m, index) {
  const node = el('article', { className: 'msg user', dataset: { testid: 'message-user', id: String(m.id ?? '') } });
  const bubble = el('div', { className: 'bubble', textContent: m.content });
  const actions = el('div', { className: 'msg-actions' });
  const edit = el('button', { className: 'link-btn', textContent: 'Edit', dataset: { testid: 'edit' } });
  edit.addEventListener('click', () => startEdit(node, m, index));
  const copy = el('button', { className: 'link-btn', textContent: 'Copy', dataset: { testid: 'copy-message' } });
  copy.addEventListener('click', () => copyText(m.content, copy));
  actions.append(edit, copy);
  node.append(bubble, actions);
  return node;
}

function assistantView(m, isLast) {
  const node = el('article', { className: 'msg assistant', dataset: { testid: 'message-assistant', id: String(m.id ?? '') } });
  const thinking = el('details', { className: 'thinking', dataset: { testid: 'thinking' } },
    el('summary', { textContent: thinkingLabel(m.meta?.thinking_seconds, false) }),
    el('div', { className: 'thinking-body', textContent: m.reasoning ?? '' }));
  thinking.hidden = !m.reasoning;
  const answer = el('div', { className: 'answer markdown', dataset: { testid: 'answer' } });
  answer.innerHTML = renderMarkdown(m.content);
  decorateCode(answer);
  const foot = el('div', { className: 'msg-foot' });
  const stats = el('span', { className: 'stats', textContent: statsText(m.meta), dataset: { testid: 'stats' } });
  const copy = el('button', { className: 'link-btn', textContent: 'Copy', dataset: { testid: 'copy-message' } });
  copy.addEventListener('click', () => copyText(m.content, copy));
  foot.append(stats, copy);
  if (isLast) {
    const regen = el('button', { className: 'link-btn', textContent: 'Regenerate', dataset: { testid: 'regenerate' } });
    regen.addEventListener('click', () => regenerate());
    foot.append(regen);
  }
  node.append(thinking, answer, foot);
  return node;
}

function renderMessages() {
  const box = $('messages');
  const messages = state.current?.messages ?? [];
  const views = [];
  messages.forEach((m, i) => {
    if (m.role === 'user') views.push(userView(m, i));
    else if (m.role === 'assistant') views.push(assistantView(m, i === messages.length - 1 && !state.generating));
  });
  $('empty').hidden = views.length > 0;
  box.replaceChildren($('empty'), ...views);
  box.scrollTop = box.scrollHeight;
}

function startEdit(node, m, index) {
  if (state.generating) return;
  const area = el('textarea', { className: 'edit-area', value: m.content, dataset: { testid: 'edit-input' } });
  const save = el('button', { className: 'primary', textContent: 'Send', dataset: { testid: 'edit-send' } });
  const cancel = el('button', { textContent: 'Cancel' });
  cancel.addEventListener('click', () => renderMessages());
  const submit = async () => {
    const text = area.value.trim();
    if (!text) return;
    try {
      const c = state.current;
      if (m.id != null) await withKey(() => request('DELETE', `/api/conversations/${c.id}/messages?from=${m.id}`));
      c.messages = c.messages.slice(0, index);
      const saved = await withKey(() => request('POST', `/api/conversations/${c.id}/messages`, { role: 'user', content: text }));
      c.messages.push(saved);
      renderMessages();
      await generate();
    } catch (err) { showError(err); renderMessages(); }
  };
  save.addEventListener('click', submit);
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); renderMessages(); }
  });
  node.replaceChildren(area, el('div', { className: 'edit-actions' }, cancel, save));
  area.focus();
}

async function regenerate() {
  if (state.generating) return;
  const c = state.current;
  const last = c?.messages.at(-1);
  if (!last || last.role !== 'assistant') return;
  try {
    if (last.id != null) await withKey(() => request('DELETE', `/api/conversations/${c.id}/messages?from=${last.id}`));
    c.messages.pop();
    renderMessages();
    await generate();
  } catch (err) { showError(err); }
}

// ---------- sending and streaming ----------
async function send(text) {
  if (state.generating || !text.trim()) return;
  clearError();
  $('input').value = '';
  autosize();
  try {
    const c = await ensureConversation(text);
    const saved = await withKey(() => request('POST', `/api/conversations/${c.id}/messages`, { role: 'user', content: text }));
    c.messages.push(saved);
    renderMessages();
    await loadConversations();
    await generate();
  } catch (err) {
    showError(err, () => send(text));
    if (!state.current?.messages.length) $('input').value = text;
    turnDone();
  }
}

function setGenerating(on) {
  $('send').hidden = on;
  $('stop').hidden = !on;
  document.body.classList.toggle('generating', on);
}

function stopGeneration() {
  state.generating?.controller.abort();
}
$('stop').addEventListener('click', stopGeneration);

// Finished turns (answered, failed or stopped), exposed for tests as <body data-turns>.
let turns = 0;
function turnDone() { document.body.dataset.turns = String(++turns); }

async function generate() {
  try {
    await generateOnce();
  } finally {
    turnDone();
  }
}

async function generateOnce() {
  const c = state.current;
  const settings = currentSettings();
  const model = selectedModel();
  const messages = [];
  if (settings.system_prompt?.trim()) messages.push({ role: 'system', content: settings.system_prompt });
  for (const m of c.messages) if (m.role === 'user' || m.role === 'assistant') messages.push({ role: m.role, content: m.content });
  // max_tokens may not exceed the model's context (the server answers 422): clamp to what this model can hold.
  const maxTokens = Math.min(Number(settings.max_tokens) || DEFAULT_SETTINGS.max_tokens, model?.context_length ?? Infinity);
  const body = { model: model?.id, messages, temperature: Number(settings.temperature), max_tokens: maxTokens };
  if (model?.thinking_toggle && !state.deepThink) body.thinking = { type: 'disabled' };

  const live = { role: 'assistant', content: '', reasoning: '', meta: null };
  const node = assistantView(live, false);
  node.classList.add('streaming');
  const thinking = node.querySelector('.thinking');
  const summary = thinking.querySelector('summary');
  const reasoningBody = thinking.querySelector('.thinking-body');
  const answer = node.querySelector('.answer');
  const stats = node.querySelector('.stats');
  stats.textContent = 'Waiting for the model…';
  $('empty').hidden = true;
  $('messages').append(node);
  $('messages').scrollTop = $('messages').scrollHeight;

  const controller = new AbortController();
  state.generating = { controller, conversationId: c.id };
  setGenerating(true);
  const started = performance.now();
  let firstToken = 0;
  let reasoningStart = 0;
  let answerStart = 0;
  let deltas = 0;
  let frame = 0;
  const paint = () => {
    frame = 0;
    const box = $('messages');
    const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    reasoningBody.textContent = live.reasoning;
    answer.innerHTML = renderMarkdown(live.content);
    decorateCode(answer);
    if (stick) box.scrollTop = box.scrollHeight;
  };
  const onDelta = ({ reasoning, content }) => {
    const now = performance.now();
    if (!firstToken) { firstToken = now; stats.textContent = ''; }
    deltas++;
    if (reasoning) {
      if (!reasoningStart) {
        reasoningStart = now;
        thinking.hidden = false;
        thinking.open = true;
        thinking.classList.add('live');
        summary.textContent = thinkingLabel(0, true);
      }
      live.reasoning += reasoning;
    }
    if (content) {
      if (!answerStart) {
        answerStart = now;
        if (reasoningStart) {
          thinking.classList.remove('live');
          summary.textContent = thinkingLabel((now - reasoningStart) / 1000, false);
          thinking.open = false; // collapsed when the answer starts; the summary reopens it
        }
      }
      live.content += content;
    }
    if (!frame) frame = requestAnimationFrame(paint);
  };

  let result = null;
  let failure = null;
  let stopped = false;
  try {
    result = await streamChat(body, onDelta, controller.signal);
  } catch (err) {
    if (err?.name === 'AbortError') stopped = true;
    else failure = err;
  }
  if (frame) cancelAnimationFrame(frame);
  paint();
  const end = performance.now();
  state.generating = null;
  setGenerating(false);

  if (failure && !live.content && !live.reasoning) {
    node.remove();
    renderMessages();
    if (failure instanceof ApiError && failure.status === 401) {
      await askKey(apiKey.get() ? 'That key was refused by the server.' : '');
      return generateOnce();
    }
    showError(failure, () => generate());
    return;
  }
  const usage = result?.usage;
  const thinkingSeconds = reasoningStart ? ((answerStart || end) - reasoningStart) / 1000 : null;
  const completion = usage?.completion_tokens ?? deltas;
  const genSeconds = firstToken ? (end - firstToken) / 1000 : 0;
  live.meta = {
    model: model?.id ?? null,
    completion_tokens: completion,
    approximate: !usage,
    reasoning_tokens: usage?.completion_tokens_details?.reasoning_tokens ?? null,
    prompt_tokens: usage?.prompt_tokens ?? null,
    cached_tokens: usage?.prompt_cache_hit_tokens ?? null,
    tokens_per_second: genSeconds > 0 && completion > 1 ? (completion - 1) / genSeconds : null,
    thinking_seconds: thinkingSeconds,
    time_to_first_token: firstToken ? (firstToken - started) / 1000 : null,
    finish_reason: result?.finishReason ?? null,
    stopped,
  };
  try {
    const saved = await withKey(() => request('POST', `/api/conversations/${c.id}/messages`,
      { role: 'assistant', content: live.content, reasoning: live.reasoning || null, meta: live.meta }));
    c.messages.push(saved);
  } catch (err) {
    c.messages.push(live);
    showError(err);
  }
  if (state.current === c) renderMessages();
  if (failure) showError(failure, () => regenerate());
  loadConversations().catch(() => {});
}

// ---------- composer and keyboard ----------
function autosize() {
  const input = $('input');
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 240)}px`;
}
$('input').addEventListener('input', autosize);
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send($('input').value);
  }
});
$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  send($('input').value);
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && state.generating) { e.preventDefault(); stopGeneration(); }
});

// ---------- start ----------
async function start() {
  try {
    await loadModels();
    await loadConversations();
    const id = new URLSearchParams(location.hash.slice(1)).get('c');
    if (id) await openConversation(id);
    else renderMessages();
  } catch (err) {
    showError(err, () => start());
  }
  document.body.dataset.ready = 'true';
  $('input').focus();
}
start();
