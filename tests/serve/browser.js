// tests/serve/browser.js URL LENET CKPT IMAGES_IDX LABELS_IDX OUTDIR
//
// The `lenet serve` page in a real browser: the system Chromium driven over
// the DevTools protocol (npm puppeteer-core, pinned in package-lock.json).
//   - draws one MNIST test digit of each class on the pad with pointer
//     events (mouse for most, a pen and a finger for two), as strokes along
//     each row's run of dark pixels; after each, the digit the page shows
//     must be the one `lenet predict --json` gives for the very PNG the page
//     sent (saved to OUTDIR/drawn-<class>.png), with the same probabilities
//     bit for bit, and the 28x28 it shows must be the one the server prepared;
//   - the file paths: a PNG chosen with the keyboard (Tab to the button,
//     Enter, file chooser) and a PGM dropped on the pad, each against
//     `lenet predict` on the same file;
//   - a finger's sideways swipe does not navigate away (swipe back); Clear
//     and Escape right after drawing leave an empty pad, and no answer to a
//     picture from before appears over it;
//   - no request leaves the server, no script error, the controls have
//     names, and on a phone-sized screen nothing overflows sideways;
//   - screenshots: OUTDIR/page-desktop.png and OUTDIR/page-phone.png.
// Prints one "ok:"/"FAIL:" line per check; exits 1 if any failed.
"use strict";
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const puppeteer = require("puppeteer-core");

const [url, lenet, ckpt, imagesIdx, labelsIdx, outdir] = process.argv.slice(2);
let failed = 0;


function check(what, ok, detail) {
  console.log((ok ? "ok:   " : "FAIL: ") + what + (!ok && detail ? "  [" + detail + "]" : ""));
  if (!ok) failed++;
}

const images = fs.readFileSync(imagesIdx).subarray(16);
const labels = fs.readFileSync(labelsIdx).subarray(8);
function image(i) { return images.subarray(i * 784, (i + 1) * 784); }
function predictFile(file) {
  const out = execFileSync(lenet, ["predict", "--ckpt", ckpt, "--json", "--threads", "1", file]).toString();
  return JSON.parse(out.trim().split("\n").pop());
}
const f32 = (x) => Math.fround(x);
function sameProbs(a, b) { return a.length === 10 && a.every((v, k) => f32(v) === f32(b[k])); }
function pgm(px) { return Buffer.concat([Buffer.from("P5\n28 28\n255\n"), Buffer.from(px)]); }

// Recorded by the page's own fetch calls (installed before any page script).
function recorder() {
  window.__posts = [];
  window.__pointerTypes = [];
  window.__encoding = 0;
  document.addEventListener("pointerdown", (e) => window.__pointerTypes.push(e.pointerType), true);
  // Pictures of the pad the browser is still encoding (it does so when idle,
  // up to a second after the strokes): the page has not sent them yet.
  const toBlob = HTMLCanvasElement.prototype.toBlob;
  HTMLCanvasElement.prototype.toBlob = function (cb, ...rest) {
    window.__encoding++;
    return toBlob.call(this, (b) => { window.__encoding--; cb(b); }, ...rest);
  };
  const orig = window.fetch;
  window.fetch = function (u, init) {
    const rec = { url: String(u), done: false };
    window.__posts.push(rec);
    const body = init && init.body;
    const read = body && body.arrayBuffer ? body.arrayBuffer().then((ab) => {
      let s = "";
      const b = new Uint8Array(ab);
      for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
      rec.body = btoa(s);
    }) : Promise.resolve();
    return orig.apply(this, arguments).then((r) => {
      r.clone().text().then((t) => read.then(() => { rec.status = r.status; rec.text = t; rec.done = true; }));
      return r;
    });
  };
}

async function settle(page, before) {
  // Wait until the page has sent something new, no picture of the pad is
  // still being encoded and every answer is in; then a little more.
  const state = () => page.evaluate(() =>
    ({ n: window.__posts.length, busy: window.__encoding > 0 || window.__posts.some((q) => !q.done) }));
  for (let t = 0; t < 200; t++) {
    const s = await state();
    if (s.n > before && !s.busy) {
      await new Promise((r) => setTimeout(r, 300));
      const s2 = await state();
      if (s2.n === s.n && !s2.busy) return s2.n;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return -1;
}

async function shown(page) {
  return page.evaluate(() => {
    const seen = document.getElementById("seen").getContext("2d").getImageData(0, 0, 28, 28).data;
    const px = [];
    for (let i = 0; i < 784; i++) px.push(seen[4 * i]);
    const last = window.__posts[window.__posts.length - 1];
    return { digit: document.getElementById("digit").textContent, seen: px, last };
  });
}

// Strokes along each row's runs of dark pixels, in pad coordinates.
function strokes(px, box) {
  const out = [];
  const X = (x) => box.x + (x + 0.5) * box.width / 28, Y = (y) => box.y + (y + 0.5) * box.height / 28;
  for (let y = 0; y < 28; y++) {
    let x = 0;
    while (x < 28) {
      if (px[y * 28 + x] < 128) { x++; continue; }
      const x0 = x;
      while (x < 28 && px[y * 28 + x] >= 128) x++;
      out.push([X(x0), Y(y), X(x - 1), Y(y)]);
    }
  }
  return out;
}

// Real input events through the DevTools protocol (Input domain), sent
// without waiting for each to be acknowledged: the browser handles them in
// order, and a digit costs one round trip instead of hundreds.
async function draw(page, cdp, how, px) {
  const box = await (await page.$("#pad")).boundingBox();
  const ev = [];
  for (const [x0, y0, x1, y1] of strokes(px, box)) {
    const xm = (x0 + x1) / 2;
    if (how === "touch") {
      ev.push(["Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x: x0, y: y0 }] }]);
      ev.push(["Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [{ x: xm, y: y1 }] }]);
      ev.push(["Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [{ x: x1, y: y1 }] }]);
      ev.push(["Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] }]);
    } else {
      const m = (type, x, y, extra) => ["Input.dispatchMouseEvent",
        Object.assign({ type, x, y, button: "left", pointerType: how }, how === "pen" ? { force: 0.5 } : {}, extra)];
      ev.push(m("mouseMoved", x0, y0, { button: "none", buttons: 0 }));
      ev.push(m("mousePressed", x0, y0, { clickCount: 1, buttons: 1 }));
      ev.push(m("mouseMoved", xm, y1, { buttons: 1 }));
      ev.push(m("mouseMoved", x1, y1, { buttons: 1 }));
      ev.push(m("mouseReleased", x1, y1, { clickCount: 1, buttons: 0 }));
    }
  }
  await Promise.all(ev.map(([method, params]) => cdp.send(method, params)));
}

async function compare(page, what, file, before) {
  const n = await settle(page, before);
  check(what + ": the page sent the picture and got its answer", n > before);
  if (n <= before) return n;
  const s = await shown(page);
  if (!fs.existsSync(file)) fs.writeFileSync(file, Buffer.from(s.last.body, "base64"));
  const want = predictFile(file);
  const got = JSON.parse(s.last.text).predictions[0];
  check(what + ": the page shows " + s.digit + ", lenet predict on the same picture says " + want.digit,
    s.digit === String(want.digit) && got.digit === want.digit);
  check(what + ": its probabilities equal lenet predict's bit for bit", sameProbs(got.probabilities, want.probabilities));
  const prepared = [].concat(...got.prepared);
  check(what + ": the 28x28 shown is the one the network saw", prepared.every((v, i) => v === s.seen[i]));
  return n;
}

(async () => {
  fs.mkdirSync(outdir, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check"],
  });
  const timer = setTimeout(() => { console.log("FAIL: browser test timed out"); process.exit(1); }, 240000);
  try {
    const page = await browser.newPage();
    const foreign = [], errors = [];
    page.on("request", (r) => { const u = r.url(); if (!u.startsWith(url) && !/^(data|blob):/.test(u)) foreign.push(u); });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.evaluateOnNewDocument(recorder);
    await page.setViewport({ width: 960, height: 720, hasTouch: true });
    await page.goto(url, { waitUntil: "load" });
    const cdp = await page.createCDPSession();
    check("the page loads with its title", (await page.title()).includes("draw a digit"));
    const left = [];
    page.on("framenavigated", (f) => { if (f === page.mainFrame()) left.push(f.url()); });

    // One test image of each class, drawn with the mouse, a pen (3) and a finger (7).
    const first = {};
    for (let i = 0; i < 2000 && Object.keys(first).length < 10; i++) if (!(labels[i] in first)) first[labels[i]] = i;
    let posts = 0, right = 0;
    for (let d = 0; d < 10; d++) {
      const how = d === 3 ? "pen" : d === 7 ? "touch" : "mouse";
      await page.click("#clear");
      await draw(page, cdp, how, image(first[d]));
      const file = path.join(outdir, "drawn-" + d + ".png");
      posts = await compare(page, "drawn " + d + " (test image " + first[d] + ", " + how + ")", file, posts);
      const s = await shown(page);
      if (s.digit === String(d)) right++;
    }
    check("the drawn digits are read as the digits they trace: " + right + " of 10", right >= 7);
    const types = await page.evaluate(() => [...new Set(window.__pointerTypes)].sort().join(","));
    check("the pad got mouse, pen and touch pointer events (" + types + ")", types === "mouse,pen,touch");
    await page.screenshot({ path: path.join(outdir, "page-desktop.png") });

    // A finger's sideways swipe, on the page beside the pad and from the pad
    // out past its edge: the browser must not take it for "back".
    const pb = await (await page.$("#pad")).boundingBox();
    const hb = await (await page.$("p.hint")).boundingBox();
    for (const [x0, y, x1] of [[hb.x + 5, hb.y + hb.height / 2, hb.x + hb.width - 5],
                               [pb.x + pb.width - 20, pb.y + pb.height / 2, 940]]) {
      const ev = [["touchStart", [{ x: x0, y }]]];
      for (let k = 1; k <= 10; k++) ev.push(["touchMove", [{ x: x0 + (x1 - x0) * k / 10, y }]]);
      ev.push(["touchEnd", []]);
      await Promise.all(ev.map(([type, touchPoints]) => cdp.send("Input.dispatchTouchEvent", { type, touchPoints })));
    }
    await settle(page, -1);
    posts = await page.evaluate(() => window.__posts.length);
    check("sideways swipes with a finger leave the page where it is (" + (left[0] || "no navigation") + ")",
      left.length === 0);

    // A PNG chosen with the keyboard only.
    const pngFile = path.join(outdir, "drawn-4.png");
    await page.click("#clear");
    await page.focus("#clear");
    const [chooser] = await Promise.all([page.waitForFileChooser({ timeout: 10000 }),
      page.keyboard.press("Tab").then(() => page.keyboard.press("Enter"))]);
    const focused = await page.evaluate(() => document.activeElement.id);
    check("Tab from Clear reaches \"Choose a picture\"", focused === "choose");
    await chooser.accept([pngFile]);
    posts = await compare(page, "a PNG chosen with the keyboard", pngFile, posts);

    // A PGM (which the browser itself cannot show) dropped on the pad.
    const pgmFile = path.join(outdir, "dropped-9.pgm");
    fs.writeFileSync(pgmFile, pgm(image(first[9])));
    await page.evaluate((b64) => {
      const s = atob(b64), b = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([b], "nine.pgm", { type: "image/x-portable-graymap" }));
      const pad = document.getElementById("pad");
      pad.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
      pad.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, fs.readFileSync(pgmFile).toString("base64"));
    posts = await compare(page, "a PGM dropped on the pad", pgmFile, posts);
    const sentPgm = await page.evaluate(() => window.__posts[window.__posts.length - 1].body);
    check("the dropped file's own bytes were sent", Buffer.from(sentPgm, "base64").equals(fs.readFileSync(pgmFile)));

    // Clear empties the answer; Escape too, and an answer to a picture from
    // before (still encoding or on its way) does not appear over the empty pad.
    await page.click("#clear");
    check("Clear resets the shown digit", (await page.$eval("#digit", (e) => e.textContent)) === "\u2013");
    for (const how of ["Clear", "Escape"]) {
      await draw(page, cdp, "mouse", image(first[8]));
      if (how === "Clear") await page.click("#clear"); else await page.keyboard.press("Escape");
      await settle(page, -1);
      const after = await page.evaluate(() => ({ digit: document.getElementById("digit").textContent,
        ink: document.getElementById("pad").getContext("2d").getImageData(0, 0, 280, 280).data.some((v) => v < 255) }));
      check(how + " right after drawing leaves an empty pad and no answer (shows " + after.digit + ")",
        after.digit === "\u2013" && !after.ink);
    }
    posts = await page.evaluate(() => window.__posts.length);

    // Accessibility: named controls, labelled canvases, live regions.
    const a11y = await page.evaluate(() => {
      const named = [...document.querySelectorAll("button")].every((b) => b.textContent.trim().length > 0);
      const canv = [...document.querySelectorAll("canvas")].every((c) => (c.getAttribute("aria-label") || "").length > 10);
      const live = !!document.querySelector("#digit[aria-live]") && !!document.querySelector("#status[role=status]");
      return named && canv && live && document.documentElement.lang === "en";
    });
    check("buttons have names, canvases have labels, the answer is a live region, lang is set", a11y);

    // Phone-sized screen: nothing wider than the screen, the pad fits.
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.reload({ waitUntil: "load" });
    await draw(page, cdp, "touch", image(first[2]));
    await settle(page, 0);
    const fit = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth,
      pad: document.getElementById("pad").getBoundingClientRect().right }));
    check("on a 390 px wide phone nothing overflows (page " + fit.sw + " px, pad ends at " + Math.round(fit.pad) + ")",
      fit.sw <= 390 && fit.pad <= 390);
    await page.screenshot({ path: path.join(outdir, "page-phone.png"), fullPage: true });

    check("no request went anywhere but this server (" + (foreign[0] || "none") + ")", foreign.length === 0);
    check("no script errors (" + (errors[0] || "none") + ")", errors.length === 0);
  } catch (e) {
    check("browser session ran to the end", false, String(e && e.stack || e));
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})();
