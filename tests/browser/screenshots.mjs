// Screenshots of Insats's main pages for docs/screenshots/, taken from a demo history:
//
//   insats demo && insats serve &          # the demo accounts' passwords are demo-<name>-2026
//   node tests/browser/screenshots.mjs http://localhost:8080 docs/screenshots
//
// Not a test: it only looks. The pages' behaviour is tested by day.mjs.

import puppeteer from "puppeteer-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base = "http://localhost:8080", out = "docs/screenshots"] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=sv-SE"],
});

async function as(name, { phone = false } = {}) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport(phone ? { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true } : { width: 1280, height: 900 });
  await page.goto(`${base}/logga-in`);
  await page.type("#email", `${name}@insats.local`);
  await page.type("#password", `demo-${name}-2026`);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/logga-in'] button[type=submit]")]);
  return page;
}

async function shot(page, path, file, { full = false } = {}) {
  if (path) await page.goto(base + path, { waitUntil: "load" });
  await page.screenshot({ path: join(out, file), fullPage: full });
  console.log(`${file}: ${page.url()}`);
}

try {
  const visitor = await (await browser.createBrowserContext()).newPage();
  await visitor.setViewport({ width: 1280, height: 900 });
  await shot(visitor, "/logga-in", "login.png");

  const team = await as("araby");
  await shot(team, null, "area-timeline.png");
  await shot(team, "/omraden/araby/insatser/ny", "log-activity.png");
  await shot(team, "/omraden/araby/arenden", "cases.png");
  const casePath = await team.$eval("a[href^='/arenden/']", (a) => a.getAttribute("href")).catch(() => null);
  if (casePath) await shot(team, casePath, "case.png");

  const phone = await as("araby", { phone: true });
  await shot(phone, "/omraden/araby/insatser/ny", "log-activity-phone.png");

  const council = await as("rad");
  await shot(council, null, "council-flow.png", { full: true });
  await shot(council, "/planen", "plan.png");
  const strategy = await council.$eval("a[href^='/planen/strategier/']", (a) => a.getAttribute("href"));
  await shot(council, strategy, "strategy.png", { full: true });

  await shot(council, "/att-gora", "todo.png");
  const councilPhone = await as("rad", { phone: true });
  await shot(councilPhone, "/rad/informationsflode", "council-flow-phone.png");

  const owner = await as("process-2");
  await shot(owner, null, "process-owner.png");

  const coordinator = await as("samordnare");
  await shot(coordinator, null, "overview.png");
  await shot(coordinator, "/admin", "admin.png");
  await shot(coordinator, "/rapporter", "reports.png");
  const report = await coordinator.$eval("main ul a[href^='/rapporter/']:not([href$='/rytm'])", (a) => a.getAttribute("href"));
  // The period that ended last (the first in the list is the one in progress).
  const ended = await coordinator.$$eval("main ul a[href^='/rapporter/']", (links) => links[1]?.getAttribute("href"));
  await shot(coordinator, ended || report, "report.png");

  const auditor = await as("revisor");
  await shot(auditor, "/granskning/strategier/samordnat-mottagande?per=2025-06-30&jamfor=2024-12-31", "audit.png", { full: true });
} finally {
  await browser.close();
}
