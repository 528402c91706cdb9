// Shared setup of the browser tests: Debian's Chromium driven by playwright-core (no browser download).
import { chromium } from 'playwright-core';
import path from 'node:path';

export const URL = process.env.WHALE_URL ?? 'http://127.0.0.1:8080';
export const KEYED_URL = process.env.WHALE_KEYED_URL ?? '';
export const KEY = process.env.WHALE_KEY ?? '';
export const ARTIFACTS = process.env.WHALE_ARTIFACTS ?? path.resolve('..', 'artifacts', 'browser');

export async function launch() {
  // Playwright starts Chromium with a fresh temporary profile (its own --user-data-dir) and removes it at close.
  const browser = await chromium.launch({
    executablePath: process.env.WHALE_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/** A fresh page (own storage) that fails the test on any page error or script-triggered dialog other than confirm. */
export async function openPage(browser, { url = URL, viewport = { width: 1280, height: 860 }, theme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme: theme });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('dialog', (d) => (d.type() === 'confirm' ? d.accept() : (page.errors.push(`unexpected ${d.type()}: ${d.message()}`), d.dismiss())));
  await page.goto(url + '/');
  await page.waitForSelector('body[data-ready="true"]');
  return { context, page };
}

const turns = (page) => page.evaluate(() => Number(document.body.dataset.turns ?? 0));

/** Types a message and presses Enter; remembers the finished-turn count so idle() can wait for this turn. */
export async function send(page, text) {
  page.turnsBefore = await turns(page);
  await page.getByTestId('input').fill(text);
  await page.getByTestId('input').press('Enter');
}

/** Marks the start of a turn started by a click (regenerate, edit, retry). */
export async function startTurn(page, action) {
  page.turnsBefore = await turns(page);
  await action();
}

/** Waits until the turn started last has finished (answered, failed or stopped). */
export async function idle(page, timeout = 30_000) {
  await page.waitForFunction((n) => Number(document.body.dataset.turns ?? 0) > n, page.turnsBefore ?? 0, { timeout });
  await page.waitForFunction(() => !document.querySelector('.msg.streaming'), null, { timeout });
}
