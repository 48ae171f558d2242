// A clinician's journey through the taper planner in headless Chromium (the system binary),
// driven by playwright-core, audited by axe-core. Prints one JSON report; the Python test
// (tests/planner/test_planner_browser.py) makes every assertion.
// Usage: node journey.mjs <planner link from a card> <output dir> <chromium path>
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const [link, outDir, executablePath] = process.argv.slice(2);

async function observe(page) {
  return page.evaluate(() => ({
    url: location.href,
    title: document.title,
    rows: [...document.querySelectorAll("#schedule tbody tr")].map((tr) =>
      [...tr.querySelectorAll("th, td")].map((cell) => cell.textContent.trim())),
    circles: [...document.querySelectorAll("#results svg circle.step")].map((c) =>
      ({ date: c.dataset.date, mg: c.dataset.mg, cx: c.getAttribute("cx"), cy: c.getAttribute("cy") })),
    path: document.querySelector("#results svg path.dose-line")?.getAttribute("d") ?? null,
    summary: Object.fromEntries([...document.querySelectorAll("#summary dt")].map((dt) =>
      [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()])),
    careplan: document.getElementById("careplan-json")?.value ?? null,
    live: document.getElementById("live")?.textContent ?? null,
  }));
}

// axe is injected, which the pages' CSP (no inline script) refuses: audits run in their own
// context that bypasses CSP, on the same URL; the journey itself runs with CSP enforced.
async function audit(browser, url, viewport) {
  const context = await browser.newContext({ bypassCSP: true, viewport });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: "networkidle" });
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run(document, {
    resultTypes: ["violations"],
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
  }));
  await context.close();
  return {
    version: result.testEngine.version,
    violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length,
                                                help: v.help })),
  };
}

async function waitForUpdate(page, before) {
  await page.waitForFunction((old) => location.href !== old && document.getElementById("live")
    ?.textContent === "Plan updated.", before, { timeout: 20000 });
}

const browser = await chromium.launch({
  executablePath, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const report = {};
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (msg) => { if (msg.type() === "error") errors.push(msg.text()); });

  await page.goto(link, { waitUntil: "networkidle" });
  report.initial = await observe(page);
  report.axePlanner = await audit(browser, page.url(), { width: 1100, height: 900 });
  await page.screenshot({ path: `${outDir}/planner.png`, fullPage: true,
                        clip: { x: 0, y: 0, width: 1100, height: 1750 } });

  let before = page.url();
  await page.getByLabel(/Slower: about 10%/).check();
  await waitForUpdate(page, before);
  report.slower = await observe(page);

  before = page.url();
  await page.selectOption("#hold-2", { label: "Hold 2 more weeks" });
  await waitForUpdate(page, before);
  report.held = await observe(page);
  report.focusAfterHold = await page.evaluate(() => document.activeElement?.id ?? null);

  before = page.url();
  const switchRadio = page.getByLabel(/Switch to diazepam first/);
  if (await switchRadio.count()) {
    await switchRadio.check();
    await waitForUpdate(page, before);
    report.switched = await observe(page);
    report.axeSwitched = await audit(browser, page.url(), { width: 1100, height: 900 });
  }

  await page.goto(report.held.url, { waitUntil: "networkidle" });
  await page.click("#print-handout");
  await page.waitForSelector("#calendar");
  report.handout = await page.evaluate(() => ({
    url: location.href,
    calendar: [...document.querySelectorAll("#calendar tbody tr")].map((tr) =>
      [...tr.querySelectorAll("td")].map((cell) => cell.textContent.trim())),
    text: document.querySelector("main").innerText,
    printButtonShown: !document.getElementById("print-button").hidden,
  }));
  report.axeHandout = await audit(browser, page.url(), { width: 820, height: 1100 });
  await page.setViewportSize({ width: 820, height: 1100 });
  await page.screenshot({ path: `${outDir}/handout.png`, fullPage: true,
                        clip: { x: 0, y: 0, width: 820, height: 1500 } });
  await page.emulateMedia({ media: "print" });
  report.handoutPrintToolbarHidden = await page.evaluate(() =>
    getComputedStyle(document.querySelector(".toolbar")).display === "none");
  report.errors = errors;

  // Without JavaScript the same changes are a plain form GET round-trip.
  const plain = await browser.newContext({ javaScriptEnabled: false,
                                           viewport: { width: 1100, height: 900 } });
  const nojs = await plain.newPage();
  await nojs.goto(link, { waitUntil: "load" });
  await nojs.getByLabel(/Slower: about 10%/).check();
  await Promise.all([nojs.waitForNavigation(), nojs.click("button[type=submit]")]);
  report.noJsSlower = await observe(nojs);
  await nojs.selectOption("#hold-2", { label: "Hold 2 more weeks" });
  await Promise.all([nojs.waitForNavigation(), nojs.click("button[type=submit]")]);
  report.noJsHeld = await observe(nojs);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report));
