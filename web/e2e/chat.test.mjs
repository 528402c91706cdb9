// Browser tests of the chat page (run by tests/Whale.Server.Tests/Browser/ChatPageBrowserTests.cs, which starts the
// servers): streaming with thinking, Markdown/math/code, persistence, rename/search/delete, stop, regenerate, edit,
// sanitizing, errors, API keys, narrow screens, light and dark screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { ARTIFACTS, KEY, KEYED_URL, idle, launch, openPage, send, startTurn } from './helpers.mjs';

let b;
before(async () => { mkdirSync(ARTIFACTS, { recursive: true }); b = await launch(); });
after(async () => { await b?.close(); });

const answers = (page) => page.getByTestId('message-assistant');
const sidebarItems = (page) => page.getByTestId('conversation');

test('a question streams its thinking, which collapses when the answer starts; Markdown, math and code render', async () => {
  const { context, page } = await openPage(b.browser);
  try {
    assert.equal(await page.getByTestId('model-select').inputValue(), 'scripted');
    await send(page, 'What is 17 * 23?');
    const thinking = answers(page).last().getByTestId('thinking');
    await thinking.locator('summary', { hasText: 'Thinking…' }).waitFor();
    assert.equal(await thinking.evaluate((d) => d.open), true, 'the thinking block is open while the model reasons');
    const early = (await thinking.locator('.thinking-body').textContent()).length;
    await page.waitForFunction((n) => document.querySelector('.msg.streaming .thinking-body')?.textContent.length > n + 20, early);
    await page.getByTestId('stop').waitFor({ state: 'visible' });
    // The answer starts: the block collapses and says how long it thought.
    await page.waitForFunction(() => document.querySelector('.msg.streaming .answer')?.textContent.includes('391'));
    assert.equal(await thinking.evaluate((d) => d.open), false, 'collapsed when the answer starts');
    await idle(page);
    const last = answers(page).last();
    assert.match(await last.locator('summary').textContent(), /^Thought for \d+ seconds?$/);
    assert.match(await last.getByTestId('answer').textContent(), /17 × 23 = 391/);
    assert.ok(await last.locator('strong').count() >= 1, 'bold Markdown');
    assert.ok(await last.locator('.katex').count() >= 2, 'inline and display math rendered by KaTeX');
    assert.ok(await last.locator('.code-block .hljs-keyword').count() >= 1, 'Python highlighted');
    assert.equal(await last.getByTestId('copy-code').count(), 1);
    assert.match(await last.getByTestId('stats').textContent(), /\d+ tokens · [\d.]+ tok\/s/);
    // Reopenable.
    await last.locator('summary').click();
    assert.equal(await last.getByTestId('thinking').evaluate((d) => d.open), true);
    assert.match(await last.locator('.thinking-body').textContent(), /340 \+ 51 = 391/);
    // The sidebar has it, titled by the question.
    await sidebarItems(page).filter({ hasText: 'What is 17 * 23?' }).waitFor();
    // Screenshots of the finished conversation, light then dark.
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'conversation-light.png') });
    await page.getByTestId('theme-toggle').click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.screenshot({ path: path.join(ARTIFACTS, 'conversation-dark.png') });
    assert.deepEqual(page.errors, []);
  } finally { await context.close(); }
});

test('reload keeps the conversation; rename, search and delete it', async () => {
  const { context, page } = await openPage(b.browser);
  try {
    await send(page, 'Multiply 17 by 23 for me');
    await idle(page);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    // The open conversation is restored from the server (URL hash), thinking and stats included.
    await answers(page).first().waitFor();
    assert.match(await answers(page).first().getByTestId('answer').textContent(), /391/);
    assert.match(await answers(page).first().locator('summary').textContent(), /Thought for/);
    assert.match(await answers(page).first().getByTestId('stats').textContent(), /tokens/);
    const item = sidebarItems(page).filter({ hasText: 'Multiply 17 by 23 for me' });
    await item.waitFor();
    // Rename.
    await item.hover();
    await item.getByTestId('rename').click();
    await page.getByTestId('rename-input').fill('Renamed multiplication');
    await page.getByTestId('rename-input').press('Enter');
    await sidebarItems(page).filter({ hasText: 'Renamed multiplication' }).waitFor();
    assert.equal(await page.getByTestId('chat-title').textContent(), 'Renamed multiplication');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await sidebarItems(page).filter({ hasText: 'Renamed multiplication' }).waitFor();
    // Search by title.
    await page.getByTestId('search').fill('RENAMED mult');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="conversation"]')].every((e) => e.textContent.includes('Renamed')));
    assert.equal(await sidebarItems(page).count(), 1);
    await page.getByTestId('search').fill('no such title zzz');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="conversation"]').length === 0);
    await page.getByTestId('search').fill('');
    await sidebarItems(page).filter({ hasText: 'Renamed multiplication' }).waitFor();
    // Delete (the confirm dialog is accepted).
    const renamed = sidebarItems(page).filter({ hasText: 'Renamed multiplication' });
    await renamed.hover();
    await renamed.getByTestId('delete').click();
    await page.waitForFunction(() => ![...document.querySelectorAll('[data-testid="conversation"]')].some((e) => e.textContent.includes('Renamed multiplication')));
    assert.equal(await page.getByTestId('chat-title').textContent(), 'New chat');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await sidebarItems(page).filter({ hasText: 'Renamed multiplication' }).count(), 0);
    assert.deepEqual(page.errors, []);
  } finally { await context.close(); }
});

test('Esc stops a generation midway; the partial answer is kept', async () => {
  const { context, page } = await openPage(b.browser);
  try {
    await send(page, 'Tell me a slow story');
    await page.waitForFunction(() => (document.querySelector('.msg.streaming .answer')?.textContent.length ?? 0) > 60);
    await page.keyboard.press('Escape');
    await idle(page, 5000);
    const text = await answers(page).last().getByTestId('answer').textContent();
    assert.ok(text.length > 60 && text.length < 1500, `partial answer, got ${text.length} chars`);
    assert.match(await answers(page).last().getByTestId('stats').textContent(), /stopped/);
    await page.waitForTimeout(400);
    assert.equal(await answers(page).last().getByTestId('answer').textContent(), text, 'nothing arrives after stop');
    assert.equal(await page.getByTestId('send').isVisible(), true);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await answers(page).last().waitFor();
    assert.equal((await answers(page).last().getByTestId('answer').textContent()).trim(), text.trim());
    // The stop button stops too.
    await send(page, 'Another slow story');
    await page.waitForFunction(() => (document.querySelector('.msg.streaming .answer')?.textContent.length ?? 0) > 30);
    await page.getByTestId('stop').click();
    await idle(page, 5000);
    assert.deepEqual(page.errors, []);
  } finally { await context.close(); }
});

test('regenerate replaces the last answer; editing an earlier message continues from there', async () => {
  const { context, page } = await openPage(b.browser);
  try {
    await page.getByTestId('deepthink').click(); // DeepThink off: answers come without a thinking block
    assert.equal(await page.getByTestId('deepthink').getAttribute('aria-pressed'), 'false');
    await send(page, 'First: 17 * 23?');
    await idle(page);
    assert.equal(await answers(page).last().getByTestId('thinking').isHidden(), true, 'no reasoning with DeepThink off');
    await send(page, 'Second: and again?');
    await idle(page);
    const before = await answers(page).last().getByTestId('answer').textContent();
    await startTurn(page, () => answers(page).last().getByTestId('regenerate').click());
    await idle(page);
    assert.equal(await answers(page).count(), 2);
    const after = await answers(page).last().getByTestId('answer').textContent();
    assert.notEqual(after, before, 'a new answer');
    assert.match(after, /answer #\d+/);
    // Edit the first question: everything after it is replaced by the new exchange.
    const first = page.getByTestId('message-user').first();
    await first.hover();
    await first.getByTestId('edit').click();
    await page.getByTestId('edit-input').fill('Edited: what is 17 * 23?');
    await startTurn(page, () => page.getByTestId('edit-send').click());
    await idle(page);
    assert.equal(await page.getByTestId('message-user').count(), 1);
    assert.equal(await answers(page).count(), 1);
    assert.equal(await page.getByTestId('message-user').first().locator('.bubble').textContent(), 'Edited: what is 17 * 23?');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await answers(page).first().waitFor();
    assert.equal(await page.getByTestId('message-user').count(), 1);
    assert.equal(await answers(page).count(), 1);
    await page.getByTestId('deepthink').click();
    assert.deepEqual(page.errors, []);
  } finally { await context.close(); }
});

test('model output with <script> and <img onerror>, and such a title, are shown as text', async () => {
  const { context, page } = await openPage(b.browser);
  try {
    await send(page, '<img src=x onerror="window.__xss=3"><script>window.__xss=4</script> xss test');
    await idle(page);
    const answer = answers(page).last().getByTestId('answer');
    const text = await answer.textContent();
    assert.match(text, /<script>window\.__xss = 1<\/script>/);
    assert.match(text, /<img src=x onerror="window\.__xss = 2">/);
    assert.equal(await answer.locator('img, script').count(), 0);
    assert.equal(await page.locator('#messages img:not([src="/favicon.svg"]), #messages script, #conversation-list img').count(), 0);
    const title = sidebarItems(page).first();
    assert.match(await title.textContent(), /<img src=x onerror="window.__xss=3">/);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await answers(page).last().waitFor();
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran');
    assert.deepEqual(page.errors, []);
  } finally { await context.close(); }
});

test('server errors are shown and recoverable: queue full (429) and context too long (400)', async () => {
  const { context, page } = await openPage(b.browser);
  try {
    await send(page, 'Are you busy?');
    await idle(page);
    await page.getByTestId('error').waitFor();
    assert.match(await page.getByTestId('error').textContent(), /busy.*queue full/i);
    await startTurn(page, () => page.getByTestId('error-retry').click());
    await idle(page);
    await answers(page).last().waitFor();
    assert.equal(await page.getByTestId('error').isHidden(), true);
    // Context too long on the 512-token synthetic model.
    await page.getByTestId('new-chat').click();
    await page.getByTestId('model-select').selectOption('tiny');
    await send(page, 'word '.repeat(1200));
    await page.getByTestId('error').waitFor();
    assert.match(await page.getByTestId('error').textContent(), /too long for the model's context/);
    await page.getByRole('button', { name: 'Dismiss' }).click();
    // Recover: a new chat with a short question works.
    await page.getByTestId('new-chat').click();
    await page.getByTestId('model-select').selectOption('scripted');
    await send(page, 'Short one: 17 * 23');
    await idle(page);
    assert.match(await answers(page).last().getByTestId('answer').textContent(), /391/);
    assert.deepEqual(page.errors, []);
  } finally { await context.close(); }
});

test('the synthetic R1-Distill model streams reasoning through the real engine; settings apply', async () => {
  const { context, page } = await openPage(b.browser);
  try {
    const options = await page.getByTestId('model-select').locator('option').evaluateAll((os) => os.map((o) => [o.value, o.disabled]));
    assert.deepEqual(options, [['scripted', false], ['tiny', false], ['stories', true], ['whale-r1-tiny', false]]);
    await page.getByTestId('model-select').selectOption('tiny');
    assert.equal(await page.getByTestId('deepthink').isEnabled(), true);
    await page.getByTestId('open-settings').click();
    await page.getByTestId('set-max').fill('24');
    await page.getByTestId('set-system').fill('You are terse.');
    await page.getByTestId('settings-save').click();
    await send(page, 'Hi');
    await idle(page, 60_000);
    const last = answers(page).last();
    const stats = await last.getByTestId('stats').textContent();
    assert.match(stats, /(\d+) tokens/);
    assert.ok(Number(/(\d+) tokens/.exec(stats)[1]) <= 24, stats);
    assert.ok((await last.locator('.thinking-body').textContent()).length > 0, 'reasoning text from the model');
    assert.match(stats, /tiny/);
    assert.deepEqual(page.errors, []);
  } finally { await context.close(); }
});

test('the shipped default model thinks, then answers an addition correctly', async () => {
  const { context, page } = await openPage(b.browser);
  try {
    await page.getByTestId('model-select').selectOption('whale-r1-tiny');
    await send(page, 'What is 12 + 30?');
    await idle(page, 60_000);
    const last = answers(page).last();
    const thinking = await last.locator('.thinking-body').textContent();
    assert.match(thinking, /12\s*\+\s*30/, 'the reasoning works the sum');
    const text = await last.getByTestId('answer').textContent();
    assert.match(text, /42/, `answer: ${text}`);
    assert.deepEqual(page.errors, []);
  } finally { await context.close(); }
});

test('a server with API keys asks for one, keeps it, and the chat works', { skip: !KEYED_URL }, async () => {
  // Not openPage: the page is not ready until it has a key.
  const ctx = await b.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const p = await ctx.newPage();
  try {
    await p.goto(KEYED_URL + '/');
    await p.getByTestId('key-dialog').waitFor();
    await p.getByTestId('key-input').fill('wrong-key');
    await p.getByTestId('key-save').click();
    await p.getByText('That key was refused by the server.').waitFor();
    await p.getByTestId('key-input').fill(KEY);
    await p.getByTestId('key-save').click();
    await p.waitForSelector('body[data-ready="true"]');
    assert.equal(await p.evaluate(() => localStorage.getItem('whale.apiKey')), KEY);
    await send(p, 'Keyed: 17 * 23?');
    await idle(p);
    assert.match(await answers(p).last().getByTestId('answer').textContent(), /391/);
    await p.reload();
    await p.waitForSelector('body[data-ready="true"]');
    assert.equal(await p.getByTestId('key-dialog').isVisible(), false);
    await sidebarItems(p).filter({ hasText: 'Keyed: 17 * 23?' }).waitFor();
  } finally { await ctx.close(); }
});

test('narrow screens: the list slides in from a menu button', async () => {
  const { context, page } = await openPage(b.browser, { viewport: { width: 390, height: 780 }, theme: 'dark' });
  try {
    assert.equal(await page.getByTestId('sidebar').evaluate((s) => s.getBoundingClientRect().right <= 0), true);
    await send(page, 'Narrow: 17 * 23?');
    await idle(page);
    await page.screenshot({ path: path.join(ARTIFACTS, 'narrow-dark.png') });
    await page.getByRole('button', { name: 'Conversations' }).click();
    await page.waitForFunction(() => document.querySelector('#sidebar').getBoundingClientRect().left >= 0);
    await sidebarItems(page).filter({ hasText: 'Narrow: 17 * 23?' }).waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(ARTIFACTS, 'narrow-sidebar.png') });
    assert.deepEqual(page.errors, []);
  } finally { await context.close(); }
});
