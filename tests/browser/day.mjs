// A working day in Insats, in headless Chromium: an area team logs an activity and escalates a
// case, the integration council answers it, the area sees the answer on its timeline. Along
// the way every page is checked with axe-core (WCAG 2.1 A and AA), forms are used without
// JavaScript and on a phone-sized screen, and no page asks for anything outside Insats.
//
// Run by the Rust test `browser::a_working_day_in_the_browser` (tests/integration/browser.rs),
// which starts Insats on a fresh database and passes, in the environment:
//   INSATS_URL      where Insats answers, e.g. http://localhost:41234
//   INSATS_USERS    JSON: { area, council, coordinator, owner, committee, auditor } -> { email, password, name }
//   INSATS_AREA     the area team's area id, e.g. "araby"
//   CHROMIUM        the browser to drive (default /usr/bin/chromium)

import puppeteer from "puppeteer-core";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const base = process.env.INSATS_URL;
const users = JSON.parse(process.env.INSATS_USERS);
const area = process.env.INSATS_AREA;
const origin = new URL(base).origin;
const stamp = Date.now().toString(36);

const checkedPages = [];
const foreignRequests = [];

// The day runs beside the rest of the test suite on a 2-core machine, where starting Chromium
// has once taken longer than puppeteer's default 30 s. Give the start, and every step, room
// to wait for a busy machine, and try the start a second time before giving up.
const patience = 180_000;
async function launch() {
  const options = {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    pipe: true,
    timeout: patience,
    protocolTimeout: patience,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--no-default-browser-check"],
  };
  try {
    return await puppeteer.launch(options);
  } catch (error) {
    console.log(`- Chromium did not start (${error.message}); trying once more`);
    return await puppeteer.launch(options);
  }
}
const browser = await launch();

function step(text) {
  console.log(`- ${text}`);
}

/** A fresh browser profile (its own cookies) with a page that records foreign requests. */
async function session({ javascript = true, phone = false } = {}) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(patience);
  await page.setJavaScriptEnabled(javascript);
  if (phone) await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  else await page.setViewport({ width: 1280, height: 900 });
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) foreignRequests.push(url);
  });
  page.on("pageerror", (error) => {
    throw new Error(`a script on ${page.url()} failed: ${error.message}`);
  });
  return { context, page };
}

async function go(page, path) {
  const response = await page.goto(base + path, { waitUntil: "load" });
  return response.status();
}

/** Submits the form holding `selector` and waits for the page it leads to. */
async function submit(page, selector) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click(selector)]);
  return response.status();
}

async function login(page, who) {
  await go(page, "/logga-in");
  await page.type("#email", who.email);
  await page.type("#password", who.password);
  const status = await submit(page, "form[action='/logga-in'] button[type=submit]");
  assert.equal(status, 200, `signing in as ${who.email}`);
  return new URL(page.url()).pathname;
}

async function text(page, selector) {
  return page.$eval(selector, (element) => element.innerText);
}

/** axe-core on the page as it is now: WCAG 2.1 A and AA, no violations allowed. (It runs as a
 * script, so only in sessions with JavaScript.) */
async function accessible(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  checkedPages.push(label);
  const problems = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n      ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("\n      ")}`,
  );
  assert.deepEqual(problems, [], `axe-core found problems on ${label} (${page.url()})`);
  const lang = await page.$eval("html", (html) => html.getAttribute("lang"));
  assert.equal(lang, "sv", `${label} declares Swedish`);
  const headings = await page.$$eval("h1, h2, h3, h4", (hs) => hs.map((h) => Number(h.tagName[1])));
  assert.equal(headings[0], 1, `${label} starts with one h1`);
  assert.equal(headings.filter((level) => level === 1).length, 1, `${label} has exactly one h1`);
  for (let i = 1; i < headings.length; i++) {
    assert.ok(headings[i] <= headings[i - 1] + 1, `${label}: heading levels skip from h${headings[i - 1]} to h${headings[i]}`);
  }
  assert.ok(await page.$("main"), `${label} has a main landmark`);
}

/** Tabbing reaches `selector`, and the focused element is visibly outlined. */
async function reachableByKeyboard(page, selector, label) {
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  for (let i = 0; i < 400; i++) {
    await page.keyboard.press("Tab");
    const found = await page.evaluate((sel) => document.activeElement && document.activeElement.matches(sel), selector);
    if (found) {
      const outline = await page.evaluate(() => {
        const style = getComputedStyle(document.activeElement);
        return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
      });
      assert.ok(outline.style !== "none" && outline.width >= 2, `${label}: the focused ${selector} shows a visible outline`);
      return;
    }
  }
  assert.fail(`${label}: ${selector} cannot be reached with the Tab key`);
}

/** Another person's change reaches the read models within moments, not at once: reloads
 * `path` until `selector` holds `pattern`, for at most about three seconds. */
async function eventually(page, path, selector, pattern) {
  for (let attempt = 0; ; attempt++) {
    await go(page, path);
    const found = await page.$(selector) && pattern.test(await text(page, selector));
    if (found) return;
    if (attempt >= 30) assert.fail(`${path}: ${selector} never showed ${pattern}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function fitsThePhone(page, label) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `${label} scrolls sideways on a phone (${overflow}px too wide)`);
}

try {
  // ------------------------------------------------------------------ the area team
  const team = await session();
  await go(team.page, "/logga-in");
  await accessible(team.page, "the login page");
  step("the area team signs in and lands on its own area");
  assert.equal(await login(team.page, users.area), `/omraden/${area}`);
  await accessible(team.page, "the area timeline");

  step("the activity form: today's date preset, the filter box narrows the strategies");
  await team.page.click(`a[href='/omraden/${area}/insatser/ny']`);
  await team.page.waitForSelector("#title");
  await accessible(team.page, "the activity form");
  await reachableByKeyboard(team.page, "#title", "the activity form");
  // Today in Växjö, not in UTC: between midnight in Sweden and midnight UTC they differ.
  const today = new Date().toLocaleDateString("sv-SE", { timeZone: "Europe/Stockholm" });
  assert.equal(await team.page.$eval("#date", (input) => input.value), today);
  const strategyCount = await team.page.$$eval("#strategilista li", (items) => items.length);
  assert.ok(strategyCount >= 30, `the form offers the plan's strategies (${strategyCount})`);
  await team.page.type("#strategi-filter", "språk");
  const shown = await team.page.$$eval("#strategilista li", (items) => items.filter((li) => !li.hidden).length);
  assert.ok(shown > 0 && shown < strategyCount, `the filter narrows the list (${shown} of ${strategyCount})`);
  // What does not match is gone from sight and from the keyboard, and the count is worded right.
  const visible = await team.page.$$eval("#strategilista li", (items) => items.filter((li) => getComputedStyle(li).display !== "none").length);
  assert.equal(visible, shown, "the strategies that do not match are not shown");
  assert.equal(await text(team.page, "#filter-status"), shown === 1 ? "1 strategi visas" : `${shown} strategier visas`);
  await team.page.$eval("#strategi-filter", (input) => {
    input.value = "";
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  assert.match(await text(team.page, "#filter-status"), /^\d+ strategier visas$/, "many are counted in the plural");
  await team.page.$eval("#strategi-filter", (input) => {
    input.value = "matchningsmetodik";
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  assert.equal(await text(team.page, "#filter-status"), "1 strategi visas");
  const tabbable = await team.page.$$eval("#strategilista input[type=checkbox]", (boxes) => boxes.filter((box) => box.checkVisibility()).length);
  assert.equal(tabbable, 1, "only the matching strategy's box can be reached");
  await team.page.$eval("#strategi-filter", (input) => {
    input.value = "";
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  step("a validation error keeps what was typed and names the field");
  await team.page.type("#description", "Språkcafé med läxhjälp på biblioteket.");
  const invalid = await submit(team.page, "form[action$='/insatser'] button[type=submit]");
  assert.equal(invalid, 422);
  assert.equal(await team.page.$eval("#description", (t) => t.value), "Språkcafé med läxhjälp på biblioteket.");
  const titleError = await team.page.$eval("#title", (input) => input.getAttribute("aria-describedby"));
  assert.ok(titleError, "the title field points at its error message");
  const errorId = titleError.split(" ").find((id) => id.endsWith("-fel"));
  assert.ok(errorId, `the title field is described by its error (${titleError})`);
  assert.match(await text(team.page, `#${errorId}`), /rubrik/i);
  assert.equal(await team.page.$eval("#title", (input) => input.getAttribute("aria-invalid")), "true");
  await accessible(team.page, "the activity form with errors");

  step("the team logs the activity with a double click and sees it once on its timeline");
  const activityTitle = `Språkcafé i biblioteket ${stamp}`;
  await team.page.type("#title", activityTitle);
  // Strategies stand under their processes, closed until opened; so do the partners.
  await team.page.click("#strategilista summary");
  await team.page.click("#strategilista input[type=checkbox]");
  await team.page.click("details.field summary");
  await team.page.click("input[name=partners]");
  await team.page.type("#participants", "14");
  // An impatient double click: the button is disabled while the form is sent, and the
  // server would record a second copy of the same form once anyway.
  const sendButton = "form[action$='/insatser'] button[type=submit]";
  const [sent] = await Promise.all([
    team.page.waitForNavigation({ waitUntil: "load" }),
    team.page.click(sendButton).then(() => team.page.click(sendButton).catch(() => {})),
  ]);
  assert.equal(sent.status(), 200);
  assert.equal(new URL(team.page.url()).pathname, `/omraden/${area}`);
  assert.match(await text(team.page, "ol.timeline"), new RegExp(activityTitle));
  const copies = (await text(team.page, "ol.timeline")).split(activityTitle).length - 1;
  assert.equal(copies, 1, "a double click logs the activity once");
  assert.match(await text(team.page, "[role=status]"), /loggad/);
  // The browser lands on the new activity, highlighted, and the confirmation links to it.
  const landed = new URL(team.page.url()).hash;
  assert.match(landed, /^#h-\d+$/, "the page opens at the new activity");
  assert.match(await text(team.page, `li${landed}`), new RegExp(activityTitle));
  // What the team entered shows as entered: the participants typed, the partners chosen.
  assert.match(await text(team.page, `li${landed}`), /\(14 deltagare\)/);
  assert.match(await text(team.page, `li${landed}`), /Samverkan: \S/);
  assert.equal(await team.page.$eval(`li${landed}`, (li) => getComputedStyle(li).outlineStyle), "solid");
  assert.equal(await team.page.$eval("[role=status] a", (a) => a.getAttribute("href")), landed);
  // The activity has a page of its own, and the area a list of what needs following up.
  assert.equal(await submit(team.page, `li${landed} a[href^='/insatser/']`), 200);
  assert.match(await text(team.page, "h1"), new RegExp(activityTitle));
  await accessible(team.page, "an activity's own page");
  await go(team.page, `/omraden/${area}/uppfoljning`);
  await accessible(team.page, "the activities that need following up");
  await go(team.page, `/omraden/${area}`);

  step("the team opens a case and escalates it to the council");
  await go(team.page, `/omraden/${area}/arenden/nytt`);
  await accessible(team.page, "the new case form");
  const caseTitle = `Lokal saknas för läxhjälp ${stamp}`;
  await team.page.type("#title", caseTitle);
  await team.page.type("#description", "Biblioteket kan inte låna ut rummet på tisdagar.");
  await team.page.click("input[name=strategies]");
  assert.equal(await submit(team.page, "form[action$='/arenden'] button[type=submit]"), 200);
  assert.match(new URL(team.page.url()).pathname, /^\/arenden\/[0-9a-f-]{36}$/);
  const casePath = new URL(team.page.url()).pathname;
  assert.equal(await text(team.page, "h1"), caseTitle);
  await accessible(team.page, "a case");
  await team.page.type("#text", "Ringde biblioteket, återkommer på fredag.");
  assert.equal(await submit(team.page, "form[action$='/anteckning'] button[type=submit]"), 200);
  assert.match(await text(team.page, "[role=status]"), /Anteckningen är sparad/);
  assert.match(await text(team.page, "ol.timeline"), /Ringde biblioteket/);
  step("the team member takes the case and finds it on their list of things to do, counted in the header");
  await team.page.type("form[action$='/tilldela'] #name", users.area.name);
  assert.equal(await submit(team.page, "form[action$='/tilldela'] button[type=submit]"), 200);
  await eventually(team.page, "/att-gora", "ol.todo", /Ett ärende i Araby är tilldelat dig/);
  assert.match(await text(team.page, "nav a[href='/att-gora']"), /Att göra\s*1/);
  await accessible(team.page, "the list of things to do");
  await reachableByKeyboard(team.page, "ol.todo a", "the list of things to do");
  await team.page.click("#mail-immediate");
  assert.equal(await submit(team.page, "form[action='/att-gora/epost'] button[type=submit]"), 200);
  assert.match(await text(team.page, "[role=status]"), /Sparat/);
  assert.equal(await team.page.$eval("#mail-immediate", (radio) => radio.checked), true, "the choice is shown as saved");
  await Promise.all([team.page.waitForNavigation({ waitUntil: "load" }), team.page.click("ol.todo a")]);
  assert.equal(new URL(team.page.url()).pathname, casePath, "the list links to the case");
  const question = `Kan rådet hjälpa oss hitta en lokal? ${stamp}`;
  await team.page.type("#escalation", question);
  assert.equal(await submit(team.page, "form[action$='/eskalera'] button[type=submit]"), 200);
  assert.equal(new URL(team.page.url()).pathname, casePath);
  assert.ok((await text(team.page, "main")).includes(question), "the case page shows the escalation");
  assert.equal(await team.page.$("form[action$='/eskalera']"), null, "an escalated case cannot be escalated twice");
  await go(team.page, `/omraden/${area}/arenden`);
  await accessible(team.page, "the case list");
  assert.match(await text(team.page, "main"), new RegExp(caseTitle));

  // ------------------------------------------------------------------ the council
  step("the council signs in on the information flow and finds the escalated case");
  const council = await session();
  assert.equal(await login(council.page, users.council), "/rad/informationsflode");
  await accessible(council.page, "the council's information flow");
  assert.ok(await council.page.$("svg[role=img] title"), "the flow diagram is an SVG with a title");
  const openItems = await text(council.page, "section[aria-labelledby=oppna]");
  assert.ok(openItems.includes(caseTitle), "the escalated case is among the open items");
  const itemLink = await council.page.$$eval("section[aria-labelledby=oppna] a[href^='/forum/']", (links, title) => {
    const link = links.find((a) => a.closest("tr")?.innerText.includes(title));
    return link && link.getAttribute("href");
  }, caseTitle);
  assert.ok(itemLink, "the open item links to its page");
  // All open items: newest first, filtered by type and area, in pages.
  assert.equal(await go(council.page, "/rad/oppna"), 200);
  await accessible(council.page, "the open items between forums");
  // One word for each thing: a case is an "ärende", an item between forums a "skrivelse".
  assert.equal(await text(council.page, "h1"), "Öppna skrivelser mellan forumen");
  assert.doesNotMatch(await text(council.page, "main > p[role=status]"), /ärende/i, "items between forums are not called cases");
  await council.page.select("#typ", "eskalering");
  await council.page.select("#omrade", area);
  assert.equal(await submit(council.page, "form.filters button[type=submit]"), 200);
  assert.match(await text(council.page, "tbody tr:first-child"), new RegExp(caseTitle), "the newest escalation from the area is first");
  await accessible(council.page, "the open items, filtered");
  await go(council.page, itemLink);
  await accessible(council.page, "an item between forums");
  assert.match(await text(council.page, "main"), /Stäng skrivelsen/, "the item page calls it a skrivelse");
  assert.match(await text(council.page, "dl"), /Områdesteam Araby/, "forums are named as people know them, not by their ids");
  assert.doesNotMatch(await text(council.page, "main"), /Områdesteam araby|omradesteam:/, "no area id on the item page");
  assert.ok((await text(council.page, "main")).includes(question), "the item page shows the team's question");
  const answer = `Rådet ordnar en lokal i Arabygården från mars. ${stamp}`;
  await council.page.type("#answer", answer);
  assert.equal(await submit(council.page, "form[action$='/svara'] button[type=submit]"), 200);
  assert.match(await text(council.page, "main"), new RegExp(answer));

  step("the council records its review of the area's timeline");
  await go(council.page, `/omraden/${area}`);
  assert.equal(await submit(council.page, `a[href='/omraden/${area}/granskning']`), 200);
  await accessible(council.page, "the review of an area's timeline");
  assert.match(await text(council.page, "#forslag"), /Förslaget nedan/);
  const proposed = await council.page.$eval("#period_start", (input) => input.value);
  const formTop = await council.page.$eval("form[action$='/granskning']", (form) => form.getBoundingClientRect().top);
  assert.ok(formTop < 900, `the review form is where reviewing starts, not at the bottom (${formTop} px)`);
  await council.page.type("#feedback", "Bra att läxhjälpen följs upp.");
  assert.equal(await submit(council.page, "form[action$='/granskning'] button[type=submit]"), 200);
  assert.match(await text(council.page, "[role=status]"), /Granskningen är sparad/);
  // The next review proposes the first period after the one just reviewed, and says so.
  await eventually(council.page, `/omraden/${area}/granskning`, "#forslag", /Senast granskade period/);
  const next = await council.page.$eval("#period_start", (input) => input.value);
  assert.ok(next > proposed, `the next proposal (${next}) follows the reviewed period (${proposed})`);
  await eventually(council.page, "/rad/informationsflode", "section[aria-labelledby=granskningar]", /Bra att läxhjälpen följs upp/);

  step("the area team sees the council's answer on its timeline and on the case");
  await eventually(team.page, `/omraden/${area}`, "ol.timeline", new RegExp(answer));
  assert.doesNotMatch(await text(team.page, "ol.timeline"), /omradesteam:|Områdesteam araby/, "the timeline names forums as people know them");
  await eventually(team.page, casePath, "main", new RegExp(answer));
  // One thing that happened is one entry: the escalation once, the answer once; and the
  // case is in work again once the council has answered.
  const caseTimeline = await text(team.page, "ol.timeline");
  assert.equal(caseTimeline.split(question).length - 1, 1, "the escalation is one entry");
  assert.equal(caseTimeline.split(answer).length - 1, 1, "the answer is one entry");
  assert.match(await text(team.page, "main dl"), /Pågående/);

  step("filters and exports follow the filtered view");
  await go(team.page, `/omraden/${area}`);
  await team.page.select("#typ", "insats");
  assert.equal(await submit(team.page, "form.filters button[type=submit]"), 200);
  assert.equal(new URL(team.page.url()).searchParams.get("typ"), "insats");
  const filtered = await text(team.page, "ol.timeline");
  assert.match(filtered, new RegExp(activityTitle));
  assert.doesNotMatch(filtered, new RegExp(answer), "the kind filter leaves out the council's answer");
  const exported = await team.page.evaluate(async (a) => (await fetch(`/omraden/${a}/export.json?typ=insats`)).json(), area);
  assert.ok(exported.some((row) => JSON.stringify(row).includes(activityTitle)), "the JSON export holds the activity");

  // ------------------------------------------------------------------ without JavaScript, on a phone
  step("on a phone, without JavaScript, the team logs an activity");
  const phone = await session({ javascript: false, phone: true });
  await login(phone.page, users.area);
  await fitsThePhone(phone.page, "the timeline");
  await go(phone.page, `/omraden/${area}/insatser/ny`);
  await fitsThePhone(phone.page, "the activity form");
  const phoneTitle = `Fältbesök i parken ${stamp}`;
  await phone.page.type("#title", phoneTitle);
  // On a phone the form is short: the strategies and partners are closed groups.
  const tabStops = await phone.page.$$eval("form[action$='/insatser'] :is(input:not([type=hidden]), textarea, select, button, summary)",
    (elements) => elements.filter((element) => element.checkVisibility()).length);
  assert.ok(tabStops <= 20, `the activity form has ${tabStops} tab stops on a phone`);
  await phone.page.click("#strategilista summary");
  await phone.page.click("#strategilista input[type=checkbox]");
  assert.equal(await submit(phone.page, "form[action$='/insatser'] button[type=submit]"), 200);
  assert.match(await text(phone.page, "ol.timeline"), new RegExp(phoneTitle));

  // ------------------------------------------------------------------ every other page
  step("the other roles' start pages and the remaining pages pass axe-core");
  const owner = await session();
  assert.equal(await login(owner.page, users.owner), "/processagare");
  await accessible(owner.page, "the process owner's page");
  step("a refused status report keeps the owner's choices, and a saved one is confirmed and shown");
  const reportForm = "form[action^='/processagare/strategier/']";
  const chosen = await owner.page.$eval(`${reportForm} select[name^='strategy-']`, (select) => {
    select.selectedIndex = select.options.length - 1;
    return select.value;
  });
  await owner.page.$eval(`${reportForm} select[name^='status-']`, (select) => { select.value = "risk"; });
  await owner.page.$eval(`${reportForm} input[name^='period_start-']`, (input) => { input.value = "2026-01-01"; });
  assert.equal(await submit(owner.page, `${reportForm} button[type=submit]`), 422);
  assert.equal(await owner.page.$eval(`${reportForm} select[name^='strategy-']`, (s) => s.value), chosen, "the strategy is kept");
  assert.equal(await owner.page.$eval(`${reportForm} select[name^='status-']`, (s) => s.value), "risk", "the status is kept");
  assert.equal(await owner.page.$eval(`${reportForm} input[name^='period_start-']`, (i) => i.value), "2026-01-01");
  await accessible(owner.page, "the process owner's page with a refused report");
  await owner.page.type(`${reportForm} textarea[name^='comment-']`, "Få arbetsgivare har svarat.");
  assert.equal(await submit(owner.page, `${reportForm} button[type=submit]`), 200);
  assert.match(await text(owner.page, "[role=status]"), /Statusrapporten är sparad/);
  const reportRow = await owner.page.$eval(`a[href='/planen/strategier/${chosen}']`, (a) => a.closest("tr").innerText);
  assert.match(reportRow, /Risk/);
  assert.match(reportRow, /2026-01-01/);
  await go(owner.page, "/planen");
  await accessible(owner.page, "the plan");
  const strategyLink = await owner.page.$eval("a[href^='/planen/strategier/']", (a) => a.getAttribute("href"));
  await go(owner.page, strategyLink);
  await accessible(owner.page, "a strategy");
  await go(owner.page, "/tillganglighet");
  await accessible(owner.page, "the accessibility statement");

  const coordinator = await session();
  assert.equal(await login(coordinator.page, users.coordinator), "/oversikt");
  await accessible(coordinator.page, "the coordinator's overview");
  await go(coordinator.page, "/admin");
  await accessible(coordinator.page, "the admin page");
  await go(coordinator.page, "/omraden");
  await accessible(coordinator.page, "the list of areas");
  await go(coordinator.page, "/forum/nytt");
  await accessible(coordinator.page, "the form for an item between forums");
  step("the coordinator searches for the team's activity");
  await go(coordinator.page, "/sok");
  await coordinator.page.type("#q", "språkcafé biblioteket");
  assert.equal(await submit(coordinator.page, "form[role=search] button[type=submit]"), 200);
  assert.match(await text(coordinator.page, "main"), new RegExp(activityTitle));
  await accessible(coordinator.page, "the search with results");

  step("the coordinator enters two years of a key indicator and sees them drawn");
  await go(coordinator.page, "/planen/nyckeltal");
  await accessible(coordinator.page, "the key indicators");
  await go(coordinator.page, "/planen/nyckeltal/sfi-hogsta-kurs");
  await accessible(coordinator.page, "a key indicator without figures");
  for (const [year, value] of [["2024", "38,5"], ["2025", "41"]]) {
    await coordinator.page.type("#year", year);
    await coordinator.page.type("#value", value);
    await coordinator.page.type("#reference", "SCB");
    assert.equal(await submit(coordinator.page, "form[action$='/varden'] button[type=submit]"), 200);
    assert.match(await text(coordinator.page, "[role=status]"), /sparat/);
  }
  assert.match(await text(coordinator.page, "table"), /41/);
  assert.equal(await coordinator.page.$$eval("svg[role=img] polyline", (lines) => lines.length), 1);
  await accessible(coordinator.page, "a key indicator with its chart");
  await coordinator.page.type("#year", "2025");
  await coordinator.page.type("#value", "40");
  assert.equal(await submit(coordinator.page, "form[action$='/varden'] button[type=submit]"), 422);
  assert.match(await text(coordinator.page, "#reason-fel"), /Skriv varför/);
  await accessible(coordinator.page, "a correction without its reason");

  step("the coordinator audits a strategy: its history, a moment, a comparison, the report");
  await go(coordinator.page, "/granskning");
  await accessible(coordinator.page, "the audit entry");
  assert.equal(await submit(coordinator.page, "form[action='/granskning/strategi'] button[type=submit]"), 200);
  assert.match(coordinator.page.url(), /\/granskning\/strategier\//);
  assert.match(await text(coordinator.page, "#verifiering + div"), /Verifierad till position/);
  assert.match(await text(coordinator.page, "#verifiering + div strong"), /^Allt är intakt/, "a plain sentence says whether everything is intact");
  await accessible(coordinator.page, "a strategy's audit page");
  await coordinator.page.type("#jamfor", "i förrgår");
  assert.equal(await submit(coordinator.page, "form:has(#jamfor) button[type=submit]"), 422);
  assert.match(await text(coordinator.page, "#jamfor-error"), /Ange ett datum/);
  await accessible(coordinator.page, "the audit page with a wrong moment");
  const auditPath = new URL(coordinator.page.url()).pathname;
  await go(coordinator.page, `${auditPath}/rapport`);
  await accessible(coordinator.page, "the printable audit report");
  await go(coordinator.page, "/granskning/verifiering");
  assert.match(await text(coordinator.page, "main"), /Verifierad till position/);
  await accessible(coordinator.page, "the verification of the whole log");
  assert.equal(await go(coordinator.page, "/finns-inte"), 404);
  await accessible(coordinator.page, "the page that does not exist");

  step("the coordinator reads this period's follow-up report, issues it, and the check against the log finds it intact");
  await go(coordinator.page, "/rapporter");
  await accessible(coordinator.page, "the follow-up reports");
  const reportPath = await coordinator.page.$eval("main ul a[href^='/rapporter/']", (a) => a.getAttribute("href"));
  assert.equal(await go(coordinator.page, reportPath), 200, reportPath);
  assert.match(await text(coordinator.page, "h1"), /^Uppföljningsrapport – /);
  await accessible(coordinator.page, "a period's follow-up report");
  assert.equal(await submit(coordinator.page, "form[action$='/faststall'] button[type=submit]"), 200);
  assert.match(await text(coordinator.page, "[role=status]"), /fastställd/);
  await go(coordinator.page, "/granskning/rapporter");
  assert.match(await text(coordinator.page, "main"), /stämmer med loggen/);
  await accessible(coordinator.page, "the issued reports checked against the log");

  step("the coordinator tunes the reminders' rules; a wrong number is refused with what was typed kept");
  await go(coordinator.page, "/att-gora");
  await accessible(coordinator.page, "the coordinator's list of things to do with the rules");
  await coordinator.page.$eval("#silent_days", (input) => { input.value = "0"; });
  assert.equal(await submit(coordinator.page, "form[action='/att-gora/regler'] button[type=submit]"), 422);
  assert.equal(await coordinator.page.$eval("#silent_days", (input) => input.value), "0");
  assert.match(await text(coordinator.page, ".error-summary"), /från 1 till 365/);
  await accessible(coordinator.page, "the rules with a wrong number");
  await coordinator.page.$eval("#silent_days", (input) => { input.value = "60"; });
  assert.equal(await submit(coordinator.page, "form[action='/att-gora/regler'] button[type=submit]"), 200);
  assert.equal(await coordinator.page.$eval("#silent_days", (input) => input.value), "60");

  step("on a phone, every page of the coordinator fits the screen and passes axe-core");
  const pocket = await session({ phone: true });
  await login(pocket.page, users.coordinator);
  const strategyPath = "/planen/strategier/matchningsmetodik";
  for (const [path, label] of [
    ["/oversikt", "the overview"],
    ["/processagare", "the process owner's page"],
    [strategyPath, "a strategy"],
    ["/rad/informationsflode", "the information flow"],
    ["/rad/oppna", "the open items"],
    ["/admin", "the admin page"],
    ["/planen/nyckeltal", "the key indicators"],
    ["/planen/nyckeltal/sfi-hogsta-kurs", "a key indicator with its chart"],
    [`/sok?q=${encodeURIComponent("språkcafé")}`, "the search"],
    [`/omraden/${area}/uppfoljning`, "the activities to follow up"],
    ["/planen", "the plan"],
    ["/rapporter", "the follow-up reports"],
    ["/att-gora", "the list of things to do"],
    [reportPath, "a period's follow-up report"],
  ]) {
    assert.equal(await go(pocket.page, path), 200, path);
    await fitsThePhone(pocket.page, `${label} on a phone`);
    await accessible(pocket.page, `${label} on a phone`);
  }

  step("on a phone, the information flow shows its table instead of the drawing");
  await go(pocket.page, "/rad/informationsflode");
  assert.equal(await pocket.page.$eval(".flow-diagram", (d) => getComputedStyle(d).display), "none", "the drawing is hidden on a phone");
  assert.ok(await pocket.page.$eval("section[aria-labelledby=diagram] table", (t) => t.getBoundingClientRect().height > 0), "the table is shown on a phone");
  await go(coordinator.page, "/rad/informationsflode");
  assert.notEqual(await coordinator.page.$eval(".flow-diagram", (d) => getComputedStyle(d).display), "none", "the drawing is shown on a wide screen");
  assert.equal(await coordinator.page.$eval(".phone-only", (p) => getComputedStyle(p).display), "none");

  const committee = await session();
  await login(committee.page, users.committee);
  await accessible(committee.page, "the committee's start page");

  step("someone not signed in reports an accessibility problem");
  const visitor = await session();
  await go(visitor.page, "/tillganglighet");
  await accessible(visitor.page, "the accessibility statement, signed out");
  await visitor.page.type("#problem", "Diagrammet går inte att läsa med skärmläsare.");
  assert.equal(await submit(visitor.page, "form[action='/tillganglighet'] button[type=submit]"), 200);
  assert.match(await text(visitor.page, "[role=status]"), /tack/i);

  assert.deepEqual(foreignRequests, [], "pages asked for something outside Insats");
  console.log(`ok: ${checkedPages.length} page states passed axe-core: ${checkedPages.join(", ")}`);
} finally {
  await browser.close();
}
