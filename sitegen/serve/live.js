// sitegen preview: reload this tab when the site is rebuilt, swap stylesheets when only CSS
// changed, and show build errors over the page until they are fixed. Served only by
// `sitegen serve`; never part of a built site.
(() => {
  "use strict";
  const me = document.currentScript;
  let build = Number(me && me.dataset.build);
  const OVERLAY = "sitegen-error-overlay";
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

  function showProblems(problems) {
    let box = document.getElementById(OVERLAY);
    if (!box) {
      box = document.createElement("div");
      box.id = OVERLAY;
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;" +
        "background:rgba(20,0,0,.92);color:#fff;font:15px/1.5 ui-monospace,monospace;padding:2rem";
      document.body.appendChild(box);
    }
    box.replaceChildren();
    const title = document.createElement("h2");
    title.textContent = "sitegen: the last save did not build";
    title.style.cssText = "color:#ff8080;font:bold 1.3rem system-ui,sans-serif;margin:0 0 1rem";
    box.appendChild(title);
    for (const problem of problems) {
      const line = document.createElement("pre");
      line.className = "sitegen-problem";
      line.style.cssText = "white-space:pre-wrap;margin:0 0 .75rem";
      line.textContent = problem.text;
      box.appendChild(line);
    }
    const note = document.createElement("p");
    note.textContent = "The page below is the last good build. Fix the file and save: this clears by itself.";
    note.style.cssText = "font-family:system-ui,sans-serif;color:#ccc";
    box.appendChild(note);
  }

  function swapStylesheets() {
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const url = new URL(link.href, location.href);
      url.searchParams.set("v", String(Date.now()));
      link.href = url.href;
    }
  }

  function apply(state) {
    if (state.problems.length) {
      showProblems(state.problems);
    } else if (state.css_only && !document.getElementById(OVERLAY)) {
      swapStylesheets();
    } else {
      location.reload();
      return false;
    }
    return true;
  }

  async function watch() {
    try {
      const first = await (await fetch("/__sitegen/state", {cache: "no-store"})).json();
      if (first.problems.length) showProblems(first.problems);
      if (Number.isNaN(build)) build = first.build;
    } catch (e) { /* the server may be restarting */ }
    for (;;) {
      try {
        const response = await fetch(`/__sitegen/wait?since=${build}`, {cache: "no-store"});
        if (!response.ok) { await sleep(1000); continue; }
        const state = await response.json();
        if (state.build === build) continue;
        build = state.build;
        if (!apply(state)) return;
      } catch (e) {
        await sleep(1000);
      }
    }
  }
  watch();
})();
