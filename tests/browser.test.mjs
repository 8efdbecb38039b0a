// The where-to-buy page in a real browser: Debian's headless Chromium (installed by
// `node scripts/setup.mjs --test`), driven by playwright-core (no browser download), on phone
// viewports. What a shopper sees (title, items, one button per retailer, nothing cut at 320 px),
// axe-core finding no serious or critical accessibility problem, the page's Content Security
// Policy letting its own styles through, and each tap landing on that retailer's exact URL.
// Nothing leaves the machine: every request the page makes is routed here (images answered with
// a PNG of our own), and names other than the worker's never resolve (`--host-resolver-rules`),
// so the navigation to a retailer is seen, then stops, before any lookup. Screenshots go to
// tests/output/ (gitignored).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { useWorker } from './harness.mjs';
import { DESTINATIONS, whereToBuy } from './where-to-buy-fixtures.mjs';
import { ROOT } from '../scripts/lib.mjs';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(ROOT, 'tests', 'output');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// A 1×1 PNG for every image the page asks for.
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a0e9ad6a0000000049454e44ae426082', 'hex');

const w = useWorker({ vars: { AMAZON_ASSOCIATE_TAGS: '{"proj_123": "brand-20"}' } });
let context;
let profile;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`node scripts/setup.mjs --test\``);
  mkdirSync(OUT, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'in2carts-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Mobile Safari/537.36',
  });
});

after(async () => {
  if (context) await context.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/**
 * A page whose every request is routed: the worker's go through, the brand's images get a
 * PNG, anything else is refused. `seen` lists every request the page made, redirects included.
 */
async function shopperPage(width) {
  const page = await context.newPage();
  await page.setViewportSize({ width, height: 740 });
  const seen = [];
  const problems = [];
  page.on('request', (r) => seen.push(r));
  page.on('console', (m) => { if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith(`${w.url}/`)) return route.continue();
    if (url.startsWith('https://cdn.brand.example/')) return route.fulfill({ status: 200, contentType: 'image/png', body: PNG });
    return route.abort('blockedbyclient');
  });
  return { page, seen, problems };
}

async function axeViolations(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function create(body) {
  const r = await w.api('POST', '/v1/links', { body });
  assert.equal(r.status, 201, r.text);
  return r.body.data;
}

describe('the where-to-buy page in Chromium', () => {
  for (const width of [360, 320]) {
    it(`at ${width} px: title, items, one button per retailer, nothing cut, no serious axe finding`, async () => {
      const link = await create(whereToBuy());
      const { page, problems } = await shopperPage(width);
      const res = await page.goto(`${w.url}/${link.shortId}`);
      assert.equal(res.status(), 200);
      assert.equal(await page.title(), 'Summer grill kit');
      assert.equal(await page.locator('h1').innerText(), 'Summer grill kit');
      assert.equal(await page.locator('.sub').innerText(), 'Pick your store');
      assert.deepEqual(await page.locator('.items li').allInnerTexts(), ['Charcoal briquets\n20 lb', 'Grill tongs']);
      const buttons = page.getByRole('link');
      assert.deepEqual(await buttons.allInnerTexts(), ['Buy at Walmart', 'Buy at Target', 'Buy at Amazon', 'Buy at Instacart']);
      for (const b of await buttons.all()) {
        assert.ok(await b.isVisible());
        const box = await b.boundingBox();
        assert.ok(box.x >= 0 && box.x + box.width <= width, `button within ${width} px: ${JSON.stringify(box)}`);
        assert.ok(box.height >= 44, `a large button: ${box.height} px high`);
      }
      // The policy lets the page's own styles through (by hash): the buttons wear the brand colour.
      assert.equal(await buttons.first().evaluate((e) => getComputedStyle(e).backgroundColor), 'rgb(26, 35, 126)');
      assert.equal(await buttons.first().evaluate((e) => getComputedStyle(e).color), 'rgb(255, 255, 255)');
      assert.ok(await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize)) >= 16);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= width, 'no horizontal scrolling');
      assert.deepEqual(await page.locator('img').evaluateAll((imgs) => imgs.map((i) => i.loading)), ['lazy', 'lazy', 'lazy']);
      await page.screenshot({ path: join(OUT, `where-to-buy-${width}.png`), fullPage: true });
      assert.deepEqual(await axeViolations(page), []);
      assert.deepEqual(problems, [], 'no console error, no Content Security Policy violation');
      await page.close();
    });
  }

  it('a tap on each retailer lands on its exact URL, through /{shortId}/{retailer}', async () => {
    const link = await create(whereToBuy());
    const seen = [];
    for (const [retailer, url] of Object.entries(DESTINATIONS)) {
      // A page per tap: the failed navigation leaves the tab on the browser's error page.
      const shopper = await shopperPage(360);
      const page = shopper.page;
      await page.goto(`${w.url}/${link.shortId}`);
      const navigation = page.waitForRequest((r) => r.isNavigationRequest() && !r.url().startsWith(w.url));
      await page.getByRole('link', { name: `Buy at ${retailer[0].toUpperCase()}${retailer.slice(1)}` }).tap();
      const landed = await navigation;
      assert.equal(landed.url(), url, retailer);
      const hop = landed.redirectedFrom();
      assert.equal(hop.url(), `${w.url}/${link.shortId}/${retailer}`);
      assert.equal((await hop.response()).status(), 302);
      // It stops here: the retailer's name does not resolve, nothing leaves the machine.
      assert.equal(await landed.response(), null);
      assert.match(landed.failure().errorText, /ERR_NAME_NOT_RESOLVED/);
      seen.push(...shopper.seen);
      await page.close();
    }
    // Every request either went to the worker, was answered here, or was a retailer's URL that
    // failed before leaving (no name resolves but the worker's).
    const destinations = new Set(Object.values(DESTINATIONS));
    for (const r of seen) {
      const u = r.url();
      if (u.startsWith(`${w.url}/`) || u.startsWith('https://cdn.brand.example/')) continue;
      assert.ok(destinations.has(u), `unexpected request ${u}`);
      const failure = r.failure();
      assert.ok(failure && /ERR_NAME_NOT_RESOLVED/.test(failure.errorText), `${u}: ${failure?.errorText}`);
    }
  });

  it('a disabled or expired offer is shown as unavailable, not as a button', async () => {
    const body = whereToBuy();
    body.offers[1].status = 'disabled';
    body.offers[2].options = { ...body.offers[2].options, expiresAt: new Date(Date.now() - 60_000).toISOString() };
    const link = await create(body);
    const { page, problems } = await shopperPage(360);
    await page.goto(`${w.url}/${link.shortId}`);
    assert.deepEqual(await page.getByRole('link').allInnerTexts(), ['Buy at Walmart', 'Buy at Instacart']);
    assert.deepEqual(await page.locator('.off').allInnerTexts(), ['Target: not available', 'Amazon: not available']);
    assert.deepEqual(await page.locator('.off').evaluateAll((els) => els.map((e) => e.tagName)), ['SPAN', 'SPAN']);
    await page.screenshot({ path: join(OUT, 'where-to-buy-unavailable.png'), fullPage: true });
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
