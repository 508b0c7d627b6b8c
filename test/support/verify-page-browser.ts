import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ENV, findChromium } from './prerequisites';

/**
 * Launches the system's Chromium, found as `npm test`'s prerequisite check finds it
 * (TOCSIN_TEST_CHROMIUM, then PATH, then the macOS apps); no browser is ever downloaded.
 */
export function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (executablePath === null) {
    return Promise.reject(new Error(`no Chromium: install it (see README "Quick start"), or set ${CHROMIUM_ENV} to a Chromium or Chrome executable`));
  }
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}

/** Changes exactly one character of `text`, inside the first occurrence of `within`. */
export function oneCharChanged(text: string, within: string): string {
  const at = text.indexOf(within);
  if (at < 0) throw new Error(`"${within}" is not in the text`);
  const i = at + within.length - 1;
  const changed = `${text.slice(0, i)}${text[i] === 'x' ? 'y' : 'x'}${text.slice(i + 1)}`;
  if (changed.length !== text.length || changed === text) throw new Error('not a one-character change');
  return changed;
}

/** What went wrong around the page: requests that left file://, and errors (CSP included). */
export interface PageWatch {
  offSite: string[];
  errors: string[];
}

/**
 * Opens a mirror's verify.html from disk (file://) in an offline context that refuses and records
 * every non-file request, and waits until its script is ready.
 */
export async function openVerifyPage(browser: Browser, site: string, watch: PageWatch): Promise<Page> {
  const context = await browser.newContext({ offline: true });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    watch.offSite.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) watch.offSite.push(r.url());
  });
  page.on('pageerror', (e) => watch.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') watch.errors.push(m.text());
  });
  await page.goto(pathToFileURL(path.join(site, 'verify.html')).href);
  await page.waitForSelector('#ready[data-ready="true"]', { state: 'attached' });
  return page;
}

export interface Verdict {
  /** valid, invalid or revoked */
  verdict: string;
  headline: string;
  details: string;
  signed: string;
}

/** Pastes a notice (and a detached signature) into the page, presses Verify and reads the verdict. */
export async function verdictFor(page: Page, notice: string, signature = ''): Promise<Verdict> {
  await page.fill('#notice', notice);
  await page.fill('#signature', signature);
  // A previous verdict must not be read as this one's.
  await page.evaluate('document.getElementById("verdict").setAttribute("data-verdict", "none")');
  await page.click('#check');
  await page.waitForSelector('#verdict[data-verdict="valid"], #verdict[data-verdict="invalid"], #verdict[data-verdict="revoked"]', { state: 'attached' });
  return {
    verdict: (await page.locator('#verdict').getAttribute('data-verdict'))!,
    headline: (await page.locator('#headline').textContent())!,
    details: (await page.locator('#details').textContent())!,
    signed: (await page.locator('#signed-text').textContent())!,
  };
}
