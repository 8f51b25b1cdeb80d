/* bounced dashboard: the operator's screens over the HTTP API (docs/api.md).
 * Views are chosen by the URL fragment (#/overview, #/address?q=..., #/suppressions,
 * #/review, #/rules, #/settings). The token is kept in sessionStorage only; signing out or a
 * 401 from any call clears every view. Every value from the server is inserted as text
 * (textContent, SVG attributes), never as HTML. Nothing is loaded from elsewhere. */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const DAY = 86400;
  const CLASSES = ["hard", "soft_address", "soft_sender", "complaint", "other"];
  const CLASS_LABEL = { hard: "hard", soft_address: "soft, address-side",
    soft_sender: "soft, sender-side", complaint: "complaint", other: "other" };
  const CLASS_KIND = { hard: "hard", soft_address: "soft", soft_sender: "soft",
    complaint: "complaint", other: null };
  const EVENT_HEADS = ["time (UTC)", "recipient", "reason", "kind", "status", "policy", "diagnostic"];
  const S = {
    token: sessionStorage.getItem("bnc_token") || "",
    scopes: [],
    filter: {},          /* reason | kind | domain */
    evCursor: null,
    rules: null,         /* loaded rules by decided_by */
    supBefore: null,
  };

  /* ---- building the page ---- */
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function btn(text, fn, cls) {
    const b = el("button", text, cls);
    b.type = "button";
    b.addEventListener("click", fn);
    return b;
  }
  /* A table with these column heads and an empty body. */
  function table(heads, cls) {
    const t = el("table", null, cls), tr = el("tr");
    heads.forEach((h) => tr.appendChild(el("th", h)));
    t.createTHead().appendChild(tr);
    t.appendChild(el("tbody"));
    return t;
  }
  /* The SVG namespace, taken from the <svg> index.html holds (no URL in this file). */
  function svg(tag, attrs) {
    const e = document.createElementNS($("svgns").namespaceURI, tag);
    Object.keys(attrs || {}).forEach((k) => e.setAttribute(k, attrs[k]));
    return e;
  }
  function fmtTime(t) {
    if (!t) return "";
    return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);
  }
  function fmtDay(t) { return new Date(t * 1000).toISOString().slice(0, 10); }
  function num(n) { return Number(n || 0).toLocaleString("en-US"); }
  function setStatus(msg, isError) {
    $("status").textContent = msg || "";
    $("status").className = isError ? "error" : "";
  }
  function can(scope) { return S.scopes.indexOf(scope) >= 0 || S.scopes.indexOf("admin") >= 0; }

  /* A table row whose cells carry their column name (the phone layout shows it). */
  function row(table, cells) {
    const heads = Array.from(table.tHead.rows[0].cells).map((c) => c.textContent);
    const tr = el("tr");
    cells.forEach((c, i) => {
      const td = el("td");
      td.dataset.label = heads[i] || "";
      if (c instanceof Node) td.appendChild(c); else td.textContent = c == null ? "" : String(c);
      tr.appendChild(td);
    });
    table.tBodies[0].appendChild(tr);
    return tr;
  }
  function emptyRow(table, text) {
    const tr = el("tr", null, "empty"), td = el("td", text);
    td.colSpan = table.tHead.rows[0].cells.length;
    tr.appendChild(td);
    table.tBodies[0].appendChild(tr);
  }

  /* ---- the API ---- */
  class Unauthorized extends Error {}
  async function api(path, opts) {
    const o = Object.assign({}, opts || {});
    o.headers = Object.assign({ Authorization: "Bearer " + S.token }, o.headers || {});
    if (o.json !== undefined) {
      o.body = JSON.stringify(o.json);
      o.headers["Content-Type"] = "application/json";
      delete o.json;
    }
    const r = await fetch(path, o);
    if (r.status === 401) { signOut("The token was not accepted (401): sign in again."); throw new Unauthorized("401"); }
    if (o.raw) {
      if (!r.ok) { let m = r.statusText; try { m = (await r.json()).error.message; } catch (e) { /* not JSON */ } throw new Error(m); }
      return r;
    }
    let body = null;
    if (r.status !== 204) { try { body = await r.json(); } catch (e) { body = null; } }
    if (!r.ok) {
      const m = body && body.error ? body.error.message : r.statusText;
      throw new Error(r.status + ": " + m);
    }
    return body;
  }
  function fail(e) { if (!(e instanceof Unauthorized)) setStatus(e.message, true); }

  async function download(path, name) {
    try {
      const r = await api(path, { raw: true });
      const blob = await r.blob();
      const a = el("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      setStatus("exported " + name);
    } catch (e) { fail(e); }
  }

  /* ---- confirmation: says what will change; resolves true or false ---- */
  function confirmAction(title, lines, okText) {
    const d = $("confirm");
    $("cf-h").textContent = title;
    const body = $("cf-body");
    body.replaceChildren();
    const ul = el("ul");
    lines.forEach((l) => ul.appendChild(el("li", l)));
    body.appendChild(ul);
    $("cf-ok").textContent = okText || "Confirm";
    return new Promise((resolve) => {
      d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true });
      d.returnValue = "cancel";
      d.showModal();
      $("cf-cancel").focus();
    });
  }

  /* ---- sign-in ---- */
  function clearScreen() {
    ["cards", "legend", "chart", "chart-table", "p-class", "p-reason", "p-kind", "p-domain",
      "p-status", "ad-out", "dr-body", "rv-side", "filters", "range-label", "who",
      "su-count", "ru-count", "ru-impact", "rf-impact"].forEach((id) => $(id).replaceChildren());
    ["events", "supps", "review", "rules", "dbrules", "settings"].forEach((id) => $(id).tBodies[0].replaceChildren());
    $("outside").hidden = true;
    $("drawer").hidden = true;
    $("rv-side").hidden = true;
    $("rule-form").hidden = true;
    S.rules = null;
    S.filter = {};
  }
  function signOut(msg) {
    sessionStorage.removeItem("bnc_token");
    S.token = "";
    S.scopes = [];
    clearScreen();
    $("token").value = "";
    showSignin(msg || "Signed out.");
  }
  function showSignin(msg) {
    document.querySelectorAll(".view").forEach((v) => { v.hidden = true; });
    $("nav").hidden = true;
    $("signout").hidden = true;
    $("signin").hidden = false;
    $("signin-msg").textContent = msg || "";
    setStatus("");
    $("token").focus();
  }
  async function signIn() {
    const who = await api("/api/v1/whoami");
    S.scopes = who.scopes || [];
    $("who").textContent = "token " + who.token_id + ": " + S.scopes.join(", ");
    document.querySelectorAll("[data-scope]").forEach((e) => { e.hidden = !can(e.dataset.scope); });
    $("signin").hidden = true;
    $("nav").hidden = false;
    $("signout").hidden = false;
    route();
  }

  /* ---- routing ---- */
  function parseHash() {
    const h = location.hash.replace(/^#\/?/, "");
    const i = h.indexOf("?");
    return { view: (i < 0 ? h : h.slice(0, i)) || "overview",
             q: new URLSearchParams(i < 0 ? "" : h.slice(i + 1)) };
  }
  const VIEWS = { overview: showOverview, address: showAddress, suppressions: showSuppressions,
                  review: showReview, rules: showRules, settings: showSettings };
  function route() {
    if (!S.token) { showSignin(""); return; }
    const h = parseHash();
    const view = VIEWS[h.view] ? h.view : "overview";
    document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== "view-" + view; });
    document.querySelectorAll("#nav a").forEach((a) => {
      if (a.dataset.view === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    VIEWS[view](h.q).catch(fail);
  }

  /* ================= overview ================= */
  function rangeQuery() {
    const q = new URLSearchParams();
    const s = $("since").value, u = $("until").value;
    if (s) q.set("since", s);
    if (u) q.set("until", fmtDay(Date.parse(u + "T00:00:00Z") / 1000 + DAY)); /* "to" is inclusive */
    Object.keys(S.filter).forEach((k) => q.set(k, S.filter[k]));
    return q;
  }
  function bucketFor() {
    const b = $("bucket").value;
    if (b !== "auto") return b;
    const s = $("since").value, u = $("until").value;
    if (!s) return "month";
    const days = ((u ? Date.parse(u) : Date.now()) - Date.parse(s)) / 86400000;
    return days > 400 ? "month" : days > 120 ? "week" : "day";
  }
  function setPreset(days) {
    if (days === 0) { $("since").value = ""; $("until").value = ""; return; }
    const now = Date.now();
    $("since").value = fmtDay(now / 1000 - (days - 1) * DAY);
    $("until").value = fmtDay(now / 1000);
  }

  /* A render started later wins: an answer to an older range or filter is dropped. */
  let overviewGen = 0;
  async function showOverview() {
    const gen = ++overviewGen;
    const q = rangeQuery();
    const bucket = bucketFor();
    q.set("bucket", bucket);
    setStatus("loading...");
    const t0 = performance.now();
    const [ov, page] = await Promise.all([api("/api/v1/overview?" + q.toString()), eventsPage(q, null)]);
    if (gen !== overviewGen) return;
    drawEvents(page, true);
    drawOverview(ov, bucket);
    setStatus("updated " + new Date().toISOString().slice(0, 19).replace("T", " ") + " UTC");
    document.body.dataset.loadedMs = String(Math.round(performance.now() - t0));
    document.body.dataset.ready = "overview";
  }

  function drawOverview(ov, bucket) {
    $("range-label").textContent = ov.all_time
      ? "All time: every stored event."
      : "From " + fmtDay(ov.since) + " to " + fmtDay(ov.until - DAY) + " (UTC, inclusive).";
    const out = $("outside");
    out.replaceChildren();
    if (ov.stored.outside_range > 0) {
      out.append(el("span", num(ov.stored.outside_range) + " stored events lie outside this range (history from " +
        fmtDay(ov.stored.first) + " to " + fmtDay(ov.stored.last) + "). "),
        btn("Show all time", () => { setPreset(0); showOverview().catch(fail); }));
      out.hidden = false;
    } else out.hidden = true;
    drawFilters();
    drawCards(ov);
    $("bucket-name").textContent = bucket;
    drawChart(ov.series, bucket);
    const cls = {};
    ov.by_class.forEach((r) => { cls[r.key] = r.count; });
    bars("p-class", ov.by_class.map((r) => ({ key: r.key, label: CLASS_LABEL[r.key], count: r.count, cls: "c-" + r.key })),
      (r) => CLASS_KIND[r.key] ? { kind: CLASS_KIND[r.key] } : null);
    bars("p-reason", ov.by_reason, (r) => ({ reason: r.key }));
    bars("p-kind", ov.by_kind, (r) => ({ kind: r.key }));
    bars("p-domain", ov.by_domain, (r) => ({ domain: r.key }));
    bars("p-status", ov.by_status, null);
  }

  function drawFilters() {
    const box = $("filters");
    box.replaceChildren();
    Object.keys(S.filter).forEach((k) => {
      box.appendChild(btn(k + " = " + S.filter[k] + "  ✕", () => {
        delete S.filter[k];
        showOverview().catch(fail);
      }, "chip"));
    });
    if (Object.keys(S.filter).length) box.prepend(el("span", "Every panel shows only: ", "muted"));
  }

  function drawCards(ov) {
    const t = ov.totals, c = {};
    ov.by_class.forEach((r) => { c[r.key] = r.count; });
    const box = $("cards");
    box.replaceChildren();
    [["events", t.events, ov.all_time ? "all time" : "in range"],
     ["hard", c.hard, "in range"], ["soft, address-side", c.soft_address, "in range"],
     ["soft, sender-side", c.soft_sender, "in range"], ["complaints", c.complaint, "in range"],
     ["suppressed", t.suppressions_added, ov.all_time ? "all time" : "added in range"],
     ["suppressions", t.suppressions, "now"], ["open reviews", t.review_open, "now"]]
      .forEach((it) => {
        const d = el("div", null, "card");
        d.append(el("b", num(it[1])), el("span", it[0]), el("small", it[2], "muted"));
        box.appendChild(d);
      });
  }

  /* Horizontal bars; each is a button (keyboard reachable) that filters every panel. */
  function bars(id, rows, toFilter) {
    const box = $(id);
    box.replaceChildren();
    if (!rows || rows.length === 0) { box.appendChild(el("p", "no events", "muted")); return; }
    const max = Math.max.apply(null, rows.map((r) => r.count)) || 1;
    const list = el("div", null, "barlist");
    rows.forEach((r) => {
      const f = toFilter ? toFilter(r) : null;
      const b = el(f ? "button" : "div", null, "row");
      if (f) {
        b.type = "button";
        b.setAttribute("aria-label", (r.label || r.key) + ": " + r.count + " events, show only these");
        b.addEventListener("click", () => { Object.assign(S.filter, f); showOverview().catch(fail); });
      }
      const track = el("span", null, "track"), fill = el("span", null, "fill " + (r.cls || ""));
      fill.style.width = (100 * r.count / max).toFixed(1) + "%";
      track.appendChild(fill);
      b.append(el("span", r.label || r.key || "(none)", "label"), track, el("span", num(r.count), "n"));
      list.appendChild(b);
    });
    const det = el("details"), sum = el("summary", "Table"), tbl = table(["key", "events"]);
    rows.forEach((r) => row(tbl, [r.label || r.key, r.count]));
    det.append(sum, tbl);
    box.append(list, det);
  }

  /* Stacked bars per bucket with a dated x axis and a y axis with values. */
  function drawChart(series, bucket) {
    const box = $("chart"), legend = $("legend"), tbox = $("chart-table");
    box.replaceChildren(); legend.replaceChildren(); tbox.replaceChildren();
    CLASSES.forEach((c) => {
      const s = el("span", null, "key");
      s.append(el("i", null, "sw c-" + c), el("span", CLASS_LABEL[c]));
      legend.appendChild(s);
    });
    /* drawn at the panel's own width, so its text is as large on a phone as on a desk */
    const W = Math.max(300, Math.round(box.clientWidth || 1000)), H = W < 600 ? 220 : 260;
    const L = 48, B = 36, T = 10, R = 8;
    const n = series.length;
    const totals = series.map((d) => CLASSES.reduce((a, c) => a + d[c], 0));
    const maxv = Math.max(1, Math.max.apply(null, totals));
    const step = niceStep(maxv / 4), top = Math.ceil(maxv / step) * step;
    const g = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", class: "chartsvg",
      "aria-label": "Events per " + bucket + ", stacked by class; " + n + " " + bucket + "s" });
    const ph = H - B - T, pw = W - L - R, bw = pw / n;
    for (let v = 0; v <= top; v += step) {
      const y = T + ph - ph * v / top;
      g.appendChild(svg("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
      const tx = svg("text", { x: L - 6, y: y + 4, class: "ytick" });
      tx.textContent = num(v);
      g.appendChild(tx);
    }
    const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(W / 90))));
    series.forEach((d, i) => {
      const x = L + i * bw;
      const grp = svg("g", { class: "bar", tabindex: "0", role: "button",
        "aria-label": d.day + ": " + totals[i] + " events (" + CLASSES.filter((c) => d[c]).map((c) => d[c] + " " + CLASS_LABEL[c]).join(", ") + "); show this " + bucket });
      let y = T + ph;
      CLASSES.forEach((c) => {
        if (!d[c]) return;
        const h = ph * d[c] / top;
        y -= h;
        grp.appendChild(svg("rect", { x: x + bw * 0.1, y: y, width: Math.max(1, bw * 0.8), height: h, class: "c-" + c }));
      });
      const hit = svg("rect", { x: x, y: T, width: bw, height: ph, class: "hit" });
      const tip = svg("title");
      tip.textContent = grp.getAttribute("aria-label");
      hit.appendChild(tip);
      grp.appendChild(hit);
      const pick = () => narrowTo(d.day, bucket);
      grp.addEventListener("click", pick);
      grp.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(); } });
      g.appendChild(grp);
      if (i % every === 0) {
        const tx = svg("text", { x: x + bw / 2, y: H - B + 16, class: "xtick" });
        tx.textContent = bucket === "month" ? d.day.slice(0, 7) : d.day.slice(5);
        g.appendChild(tx);
        g.appendChild(svg("line", { x1: x + bw / 2, x2: x + bw / 2, y1: T + ph, y2: T + ph + 4, class: "axis" }));
      }
    });
    if (n > 0) {
      const yr = svg("text", { x: L, y: H - 4, class: "xtick start" });
      yr.textContent = series[0].day + " … " + series[n - 1].day + " (UTC)";
      g.appendChild(yr);
    }
    g.appendChild(svg("line", { x1: L, x2: W - R, y1: T + ph, y2: T + ph, class: "axis" }));
    box.appendChild(g);
    const tbl = table([bucket, "hard", "soft, address-side", "soft, sender-side", "complaint", "other", "total"]);
    series.forEach((d, i) => row(tbl, [d.day].concat(CLASSES.map((c) => d[c]), [totals[i]])));
    tbox.appendChild(tbl);
  }
  function niceStep(x) {
    if (x <= 1) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(x))), m = x / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function narrowTo(day, bucket) {
    const start = Date.parse(day + "T00:00:00Z") / 1000;
    let end = start;
    if (bucket === "week") end = start + 6 * DAY;
    if (bucket === "month") { const d = new Date(start * 1000); end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0) / 1000; }
    $("since").value = fmtDay(start);
    $("until").value = fmtDay(end);
    $("bucket").value = "day";
    showOverview().catch(fail);
  }

  /* Events newest first, cursor-paged by the server. */
  function eventsPage(range, cursor) {
    const q = new URLSearchParams(range);
    q.delete("bucket");
    q.set("order", "newest");
    q.set("limit", "50");
    if (cursor) q.set("cursor", cursor);
    return api("/api/v1/events?" + q.toString());
  }
  async function loadEvents() {
    drawEvents(await eventsPage(rangeQuery(), S.evCursor), false);
  }
  function drawEvents(page, reset) {
    const t = $("events");
    if (reset) t.tBodies[0].replaceChildren();
    page.data.forEach((e) => eventRow(t, e));
    if (reset && page.data.length === 0) emptyRow(t, "no events in this range");
    S.evCursor = page.next;
    $("ev-more").hidden = !page.next;
  }
  function addrLink(a) {
    const l = el("a", a);
    l.href = "#/address?q=" + encodeURIComponent(a);
    return l;
  }
  function eventRow(t, e) {
    const d = el("span", e.diagnostic, "diag");
    const tr = row(t, [fmtTime(e.event_time), addrLink(e.recipient), e.reason,
      el("span", e.kind, "k-" + e.kind), e.status, e.policy, d]);
    const open = btn("details", () => openEvent(e.id), "link");
    open.setAttribute("aria-label", "details of event " + e.id);
    tr.cells[0].appendChild(el("br"));
    tr.cells[0].appendChild(open);
    tr.classList.add("clickable");
    tr.addEventListener("click", (ev) => { if (ev.target.tagName !== "A" && ev.target.tagName !== "BUTTON") openEvent(e.id); });
  }

  /* ================= event drawer ================= */
  async function loadRules() {
    if (S.rules) return S.rules;
    const r = await api("/api/v1/rules/loaded");
    S.rules = {};
    r.data.forEach((x) => { S.rules[x.decided_by] = x; });
    return S.rules;
  }
  async function openEvent(id) {
    try {
      const e = await api("/api/v1/events/" + id);
      const body = $("dr-body");
      body.replaceChildren();
      $("dr-h").textContent = "Event " + e.id + ": " + e.reason + " (" + e.kind + ")";
      const dl = el("dl", null, "kv");
      const add = (k, v) => { if (v === null || v === undefined || v === "") return; dl.append(el("dt", k), el("dd", v)); };
      add("recipient", e.recipient);
      add("time (UTC)", fmtTime(e.event_time));
      add("status", e.status + (e.replycode ? " (reply " + e.replycode + ")" : ""));
      add("action", e.action);
      add("policy did", e.policy);
      add("decided by", e.decided_by);
      add("origin", e.origin);
      add("source", e.source + (e.ref ? " " + e.ref : ""));
      add("message id", e.message_id);
      add("original message id", e.original_message_id);
      add("feedback type", e.feedback_type);
      body.appendChild(dl);
      if (e.decided_by && e.decided_by.startsWith("rule:")) {
        const rules = await loadRules();
        const r = rules[e.decided_by.split(",")[0]];
        const p = el("p", null, "rule");
        p.append(el("b", "rule: "), el("code", r ? r.pattern + " ==> " + r.verdict + " (" + r.tier + ", " + r.origin + ":" + r.line + ")" : "not in the loaded rule set any more"));
        body.appendChild(p);
      }
      body.append(el("h3", "Diagnostic"), el("pre", e.diagnostic || "(none)", "wrap"));
      const ad = el("p");
      ad.appendChild(addrLink(e.recipient));
      body.appendChild(ad);
      if (can("admin")) await showRaw(e, body);
      openDrawer();
    } catch (err) { fail(err); }
  }
  /* The raw bounce of event e (admin): the daemon keeps what came in over SMTP in its spool
   * for spool.keep_days; other sources (files, webhooks, logs) have none to show. */
  async function showRaw(e, box) {
    const id = e.id;
    box.appendChild(el("h3", "Raw bounce"));
    if (e.source !== "smtp") {
      box.appendChild(el("p", "No raw message is kept for source " + e.source + " (ref " + (e.ref || "none") + ").", "muted"));
      return;
    }
    try {
      const r = await api("/api/v1/events/" + id + "/raw", { raw: true });
      const text = await r.text();
      const a = btn("Download .eml", () => download("/api/v1/events/" + id + "/raw", "bounce-" + id + ".eml"));
      box.append(a, el("pre", text.length > 200000 ? text.slice(0, 200000) + "\n[... " + (text.length - 200000) + " more bytes: download the whole message]" : text, "raw"));
    } catch (e) {
      if (e instanceof Unauthorized) throw e;
      box.appendChild(el("p", e.message, "muted"));
    }
  }
  let drawerReturn = null;
  function openDrawer() {
    drawerReturn = document.activeElement;
    $("drawer").hidden = false;
    $("dr-close").focus();
  }
  function closeDrawer() {
    $("drawer").hidden = true;
    if (drawerReturn && drawerReturn.focus) drawerReturn.focus();
  }

  /* ================= address ================= */
  async function showAddress(q) {
    const term = (q.get("q") || "").trim();
    $("ad-q").value = term;
    const out = $("ad-out");
    out.replaceChildren();
    if (!term) { out.appendChild(el("p", "Find an address to see why it is (or is not) suppressed.", "muted")); return; }
    if (term.indexOf("@") > 0) await showOneAddress(term.toLowerCase(), out);
    else await showDomain(term.toLowerCase(), out);
    document.body.dataset.ready = "address";
  }

  async function showOneAddress(addr, out) {
    const found = await api("/api/v1/contacts?email=" + encodeURIComponent(addr));
    let c = found.data && found.data.length ? found.data[0] : null;
    if (c) c = await api("/api/v1/contacts/" + c.id);
    let supp = null;
    if (can("admin")) {
      const sp = await api("/api/v1/suppressions?limit=50&q=" + encodeURIComponent(addr));
      supp = sp.data.find((x) => x.address === addr) || null;
    }
    const head = el("div", null, "panel");
    head.appendChild(el("h2", addr));
    const dl = el("dl", null, "kv");
    const add = (k, v, cls) => { const dd = el("dd", v, cls); dl.append(el("dt", k), dd); };
    if (c) {
      add("contact", "#" + c.id + ", since " + fmtTime(c.created_at));
      add("hygiene state", c.hygiene_status, "st-" + c.hygiene_status);
      add("soft bounce days", c.soft_bounce_count);
      add("last bounce", c.last_bounce_at ? fmtTime(c.last_bounce_at) + " " + (c.last_reason || "") + " " + (c.last_status || "") : "none");
      add("lists", c.lists && c.lists.length ? c.lists.join(", ") : "none");
      add("attributes", JSON.stringify(c.attributes || {}));
    } else add("contact", "no contact has this address");
    if (supp) add("suppressed", "yes: " + supp.reason + " (source " + supp.source + ") since " + fmtTime(supp.created_at), "st-BOUNCED_HARD");
    else if (c && c.suppression) add("suppressed", "yes: " + c.suppression.reason + " (source " + c.suppression.source + ") since " + fmtTime(c.suppression.since), "st-BOUNCED_HARD");
    else add("suppressed", "no");
    head.appendChild(dl);
    const acts = el("p", null, "toolbar");
    const suppressed = !!(supp || (c && c.suppression));
    if (can("admin") && (suppressed || (c && c.hygiene_status !== "ACTIVE"))) {
      acts.appendChild(btn("Unsuppress", () => unsuppress(addr, supp || (c && c.suppression), c)));
    }
    if (c && can("contact:write")) acts.appendChild(btn("Make a re-verification link", () => reverify(c, acts)));
    head.appendChild(acts);
    out.appendChild(head);

    const evp = el("div", null, "panel");
    evp.appendChild(el("h2", "Events (newest first)"));
    const t = table(EVENT_HEADS, "rows");
    const evs = await api("/api/v1/events?order=newest&limit=200&recipient=" + encodeURIComponent(addr));
    evs.data.forEach((e) => eventRow(t, e));
    if (!evs.data.length) emptyRow(t, "no events for this address");
    evp.appendChild(t);
    out.appendChild(evp);
    if (can("admin")) await auditPanel(addr, out);
  }

  async function auditPanel(addr, out) {
    const p = el("div", null, "panel");
    p.appendChild(el("h2", "Audit log"));
    const t = table(["time (UTC)", "action", "by", "why", "before → after", "undo"], "rows");
    t.id = "audit";
    const a = await api("/api/v1/audit?limit=200&address=" + encodeURIComponent(addr));
    a.data.slice().reverse().forEach((x) => {
      const same = snapText(x.before) === snapText(x.after);
      const undo = x.reverted_at ? el("span", "reverted " + fmtTime(x.reverted_at), "muted")
        : x.action === "revert" ? el("span", "")
        : same ? el("span", "no state change", "muted")
        : btn("Revert", () => revert(x, addr, a.data.filter((y) => y.id > x.id && !y.reverted_at && y.action !== "revert")));
      row(t, [fmtTime(x.created_at), x.action, x.actor, [x.reason, x.decided_by].filter(Boolean).join(" · "),
        snapText(x.before) + " → " + snapText(x.after), undo]);
    });
    if (!a.data.length) emptyRow(t, "no audit entries");
    p.appendChild(t);
    out.appendChild(p);
  }
  function snapText(s) {
    if (!s) return "-";
    const parts = [];
    if (s.status) parts.push(s.status);
    if (s.soft_bounce_count) parts.push("soft days " + s.soft_bounce_count);
    if (s.contact === false) parts.push("no contact");
    parts.push(s.suppressed ? "suppressed" : "not suppressed");
    if (s.lists && s.lists.length) parts.push("lists: " + s.lists.join(", "));
    return parts.join(", ");
  }

  async function unsuppress(addr, supp, c) {
    const lines = ["The suppression of " + addr + " is lifted" + (supp ? " (" + supp.reason + ", source " + supp.source + ")" : "") + "."];
    if (c) lines.push("Contact #" + c.id + " goes from " + c.hygiene_status + " to ACTIVE with soft bounce days 0.");
    lines.push("Mail to this address is sendable again. The change is written to the audit log and can be reverted there.");
    if (!await confirmAction("Unsuppress " + addr + "?", lines, "Unsuppress")) return;
    try {
      await api("/api/v1/suppressions/" + encodeURIComponent(addr), { method: "DELETE" });
      setStatus(addr + " unsuppressed");
      await showAddress(new URLSearchParams({ q: addr }));
    } catch (e) { fail(e); }
  }
  async function reverify(c, box) {
    if (!await confirmAction("Re-verification link for " + c.email + "?", [
      "A one-time link is made; when the person opens it, the contact returns to ACTIVE and its suppression is lifted.",
      "Nothing changes until the link is used."], "Make the link")) return;
    try {
      const r = await api("/api/v1/contacts/" + c.id + "/reverify", { method: "POST", json: {} });
      const p = el("p", null, "result");
      p.append(el("span", "Link (valid until " + fmtTime(r.expires_at) + "): "), el("code", r.url || r.token));
      box.appendChild(p);
    } catch (e) { fail(e); }
  }
  // later: the entries after x that still stand; they rest on x, so they are undone first
  // (newest first, ?cascade=true) and the dialog says so
  async function revert(x, addr, later) {
    const lines = ["Entry " + x.id + " (" + x.action + " by " + x.actor + ", " + fmtTime(x.created_at) + ") is undone.",
      "Now: " + snapText(x.after) + ".", "After: " + snapText(x.before) + ".",
      "The revert is itself written to the audit log."];
    if (later.length) {
      lines.push(later.length + " later change(s) on this address (" + later.map((y) => "entry " + y.id + ", " + y.action).join("; ") +
        ") stand on it and are reverted first, newest first.");
    }
    if (!await confirmAction("Revert this change for " + addr + "?", lines, "Revert")) return;
    try {
      await api("/api/v1/audit/" + x.id + "/revert" + (later.length ? "?cascade=true" : ""), { method: "POST", json: {} });
      setStatus("entry " + x.id + " reverted");
      await showAddress(new URLSearchParams({ q: addr }));
    } catch (e) { fail(e); }
  }

  async function showDomain(dom, out) {
    const p = el("div", null, "panel");
    p.appendChild(el("h2", "Domain " + dom));
    const t = table(EVENT_HEADS, "rows");
    const evs = await api("/api/v1/events?order=newest&limit=200&domain=" + encodeURIComponent(dom));
    evs.data.forEach((e) => eventRow(t, e));
    if (!evs.data.length) emptyRow(t, "no events for this domain");
    p.append(el("h3", "Events (newest first, up to 200)"), t);
    if (can("admin")) {
      const s = await api("/api/v1/suppressions?limit=200&q=" + encodeURIComponent("@" + dom));
      const st = table(["address", "reason", "source", "since (UTC)"], "rows");
      s.data.forEach((x) => row(st, [addrLink(x.address), x.reason, x.source, fmtTime(x.created_at)]));
      if (!s.data.length) emptyRow(st, "no suppressed addresses at this domain");
      p.append(el("h3", "Suppressed addresses (" + num(s.total) + ")"), st);
    }
    out.appendChild(p);
  }

  /* ================= suppressions ================= */
  function suppQuery() {
    const q = new URLSearchParams({ order: "newest", limit: "100" });
    [["q", "su-q"], ["reason", "su-reason"], ["source", "su-source"]].forEach((k) => { const v = $(k[1]).value.trim(); if (v) q.set(k[0], v); });
    if ($("su-since").value) q.set("since", $("su-since").value);
    if ($("su-until").value) q.set("until", fmtDay(Date.parse($("su-until").value + "T00:00:00Z") / 1000 + DAY));
    return q;
  }
  async function showSuppressions() { await loadSupps(true); document.body.dataset.ready = "suppressions"; }
  async function loadSupps(reset) {
    const q = suppQuery();
    if (!reset && S.supBefore) q.set("before", S.supBefore);
    const page = await api("/api/v1/suppressions?" + q.toString());
    const t = $("supps");
    if (reset) t.tBodies[0].replaceChildren();
    page.data.forEach((s) => {
      row(t, [addrLink(s.address), s.reason, s.source, fmtTime(s.created_at),
        btn("Remove", () => removeSupp(s), "danger")]);
    });
    if (reset && !page.data.length) emptyRow(t, "no suppressions match");
    $("su-count").textContent = num(page.total) + " suppressions match";
    S.supBefore = page.next;
    $("su-more").hidden = !page.next;
  }
  async function removeSupp(s) {
    if (!await confirmAction("Remove the suppression of " + s.address + "?", [
      "Suppressed since " + fmtTime(s.created_at) + " (" + s.reason + ", source " + s.source + ").",
      "The address becomes sendable; a contact with it returns to ACTIVE with soft bounce days 0.",
      "Written to the audit log; revert it from the address page."], "Remove")) return;
    try {
      await api("/api/v1/suppressions/" + encodeURIComponent(s.address), { method: "DELETE" });
      setStatus("suppression of " + s.address + " removed");
      await loadSupps(true);
    } catch (e) { fail(e); }
  }
  async function addSupp(ev) {
    ev.preventDefault();
    const addr = $("su-addr").value.trim(), why = $("su-why").value.trim() || "manual";
    if (!await confirmAction("Suppress " + addr + "?", ["No mail is sent to " + addr + " while it is suppressed (reason " + why + ").",
      "A contact with this address is left as it is; the suppression is audited and can be removed."], "Suppress")) return;
    try {
      const r = await api("/api/v1/suppressions", { method: "POST", json: { address: addr, reason: why } });
      setStatus(r.address + " suppressed");
      $("su-addr").value = "";
      await loadSupps(true);
    } catch (e) { fail(e); }
  }

  /* ================= review ================= */
  async function showReview() {
    const page = await api("/api/v1/review?limit=200" + ($("rv-all").checked ? "&state=all" : ""));
    const t = $("review");
    t.tBodies[0].replaceChildren();
    page.data.forEach((r) => reviewRow(t, r));
    if (!page.data.length) emptyRow(t, "the review queue is empty");
    document.body.dataset.ready = "review";
  }
  function reviewRow(t, r) {
    const act = el("div", null, "acts"), dec = el("span", null, "acts"), links = el("span", null, "acts");
    act.append(dec, links);
    const tr = row(t, [fmtTime(r.event_time), addrLink(r.recipient), r.reason, r.status,
      el("span", r.diagnostic, "diag"), act]);
    tr.dataset.id = r.id;
    if (r.state === "open") decisions(r, dec, tr);
    else resolvedNote(r, r.resolution, dec, tr);
    if (r.event_id && can("admin")) links.appendChild(actBtn("raw", "raw bounce", () => sideRaw(r), "link"));
    if (can("admin")) links.appendChild(actBtn("rule", "make a rule", () => ruleFromReview(r), "link"));
  }
  function actBtn(name, text, fn, cls) {
    const b = btn(text, fn, cls);
    b.dataset.act = name;
    return b;
  }
  function decisions(r, dec, tr) {
    if (!can("admin")) return;
    ["hard", "soft", "ignore"].forEach((how) => dec.appendChild(actBtn(how, how, () => resolve(r, how, tr, dec))));
  }
  const RESOLVE_SAYS = {
    hard: (r) => [r.recipient + " is treated as a dead address: BOUNCED_HARD, suppressed (reason " + r.reason + "), unsubscribed from every list.",
      "You can undo it right after, or revert it from the address page."],
    soft: (r) => [r.recipient + " gets one soft bounce day (address-side); past the threshold it is treated as hard.", "You can undo it right after."],
    ignore: (r) => ["The item is closed; " + r.recipient + " is not changed."],
  };
  async function resolve(r, how, tr, act) {
    if (!await confirmAction("Resolve as " + how + "?", RESOLVE_SAYS[how](r), "Resolve as " + how)) return;
    try {
      const res = await api("/api/v1/review/" + r.id, { method: "POST", json: { resolution: how } });
      act.replaceChildren();
      r.state = "resolved";
      r.resolution = how;
      resolvedNote(r, how, act, tr, res.contact_changed);
      setStatus("review item " + r.id + " resolved as " + how);
    } catch (e) { fail(e); }
  }
  function resolvedNote(r, how, dec, tr, changed) {
    dec.appendChild(el("span", "resolved: " + how + (changed ? " (contact changed)" : ""), "result"));
    tr.classList.add("done");
    if (can("admin")) dec.appendChild(actBtn("undo", "Undo", () => reopen(r, dec, tr)));
  }
  async function reopen(r, dec, tr) {
    try {
      const res = await api("/api/v1/review/" + r.id + "/reopen", { method: "POST", json: {} });
      setStatus("review item " + r.id + " is open again (" + res.reverted + " change(s) reverted)");
      dec.replaceChildren();
      tr.classList.remove("done");
      r.state = "open";
      decisions(r, dec, tr);
      dec.appendChild(el("span", "undone", "result"));
    } catch (e) { fail(e); }
  }
  async function sideRaw(r) {
    const side = $("rv-side");
    side.replaceChildren();
    side.hidden = false;
    side.append(el("h2", "Raw bounce for " + r.recipient), btn("Close", () => { side.hidden = true; }));
    side.appendChild(el("pre", r.diagnostic || "", "wrap"));
    try { await showRaw({ id: r.event_id, source: r.source, ref: r.ref }, side); } catch (e) { fail(e); }
  }
  /* TEXT ==> verdict from a diagnostic: the words after the codes, addresses left out. */
  function ruleText(diag) {
    let t = (diag || "").replace(/<[^>]*@[^>]*>/g, " ").replace(/\S+@\S+/g, " ");
    t = t.replace(/^\s*(smtp;\s*)?/i, "").replace(/^\d{3}[ -](\d\.\d{1,3}\.\d{1,3}\s+)?/, "");
    t = t.replace(/[^\w .,'-]+/g, " ").replace(/\s+/g, " ").trim();
    if (t.length > 80) t = t.slice(0, 80).replace(/\s+\S*$/, "");
    return t;
  }
  function ruleFromReview(r) {
    const f = $("rule-form");
    f.hidden = false;
    $("rf-line").value = ruleText(r.diagnostic) + " ==> " + (r.resolution && r.resolution !== "ignore" ? r.resolution : "hard");
    $("rf-impact").textContent = "";
    $("rf-save").disabled = true;
    $("rf-line").focus();
  }
  async function impact(line, out, save) {
    out.textContent = "checking the stored events...";
    save.disabled = true;
    try {
      const r = await api("/api/v1/rules/impact", { method: "POST", json: { rule: line } });
      out.textContent = "This rule matches " + num(r.matched) + " of " + num(r.scanned) + " stored events; it would change the verdict of " +
        num(r.changed) + " (" + (r.reason ? "to " + r.reason : "each keeps its reason") + ", " + (r.kind ? "kind " + r.kind : "kind from the reason") + ")." +
        (r.examples.length ? " Examples: events " + r.examples.slice(0, 5).join(", ") + "." : "");
      save.disabled = false;
    } catch (e) { if (!(e instanceof Unauthorized)) out.textContent = e.message; }
  }
  async function saveRule(line, out) {
    try {
      const r = await api("/api/v1/rules", { method: "POST", json: { rule: line } });
      out.textContent = "Saved as rule " + r.id + "; new bounces are classified with it.";
      S.rules = null;
      return true;
    } catch (e) { if (!(e instanceof Unauthorized)) out.textContent = e.message; return false; }
  }

  /* ================= rules ================= */
  async function showRules() {
    const r = await api("/api/v1/rules/loaded");
    S.rules = {};
    r.data.forEach((x) => { S.rules[x.decided_by] = x; });
    S.allRules = r.data;
    drawRules();
    if (can("admin")) {
      const db = await api("/api/v1/rules");
      const t = $("dbrules");
      t.tBodies[0].replaceChildren();
      db.data.forEach((x) => row(t, [x.id, el("code", x.rule), x.created_by, fmtTime(x.created_at),
        btn("Remove", () => removeRule(x), "danger")]));
      if (!db.data.length) emptyRow(t, "no rules stored through the API");
    }
    document.body.dataset.ready = "rules";
  }
  function drawRules() {
    const q = $("ru-q").value.trim().toLowerCase();
    const t = $("rules");
    t.tBodies[0].replaceChildren();
    const hits = (S.allRules || []).filter((x) => !q || (x.pattern + " " + x.verdict + " " + x.origin).toLowerCase().indexOf(q) >= 0);
    hits.slice(0, 500).forEach((x) => row(t, [x.origin + ":" + x.line, x.tier, x.verdict, el("code", x.pattern)]));
    $("ru-count").textContent = num(hits.length) + " of " + num((S.allRules || []).length) + " rules" + (hits.length > 500 ? " (first 500 shown)" : "");
  }
  async function removeRule(x) {
    if (!await confirmAction("Remove rule " + x.id + "?", ["\"" + x.rule + "\" stops deciding new bounces.", "Events already stored keep their verdicts."], "Remove")) return;
    try {
      await api("/api/v1/rules/" + x.id, { method: "DELETE" });
      setStatus("rule " + x.id + " removed");
      await showRules();
    } catch (e) { fail(e); }
  }

  /* ================= settings ================= */
  async function showSettings() {
    const r = await api("/api/v1/settings");
    S.settings = r.data;
    drawSettings();
    document.body.dataset.ready = "settings";
  }
  function drawSettings() {
    const q = $("se-q").value.trim().toLowerCase(), only = $("se-changed").checked;
    const t = $("settings");
    t.tBodies[0].replaceChildren();
    const rows = (S.settings || []).filter((x) => (!only || x.changed) && (!q || (x.name + " " + x.help).toLowerCase().indexOf(q) >= 0));
    rows.sort((a, b) => (b.name.startsWith("policy.") - a.name.startsWith("policy.")) || a.name.localeCompare(b.name));
    rows.forEach((x) => { const tr = row(t, [x.name, el("code", x.value), x.default, x.help]); if (x.changed) tr.classList.add("changed"); });
  }

  /* ================= wiring ================= */
  document.addEventListener("DOMContentLoaded", () => {
    setPreset(30);
    $("signin-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      S.token = $("token").value.trim();
      sessionStorage.setItem("bnc_token", S.token);
      signIn().catch(fail);
    });
    $("signout").addEventListener("click", () => signOut("Signed out: the token is forgotten and the screen cleared."));
    window.addEventListener("hashchange", () => { closeDrawer(); route(); });
    $("range").addEventListener("submit", (ev) => { ev.preventDefault(); showOverview().catch(fail); });
    document.querySelectorAll(".presets button").forEach((b) => b.addEventListener("click", () => {
      setPreset(Number(b.dataset.days)); showOverview().catch(fail);
    }));
    $("bucket").addEventListener("change", () => showOverview().catch(fail));
    $("ev-more").addEventListener("click", () => loadEvents().catch(fail));
    $("ev-csv").addEventListener("click", () => { const q = rangeQuery(); download("/api/v1/events.csv?" + q.toString(), "bounced-events.csv"); });
    $("ad-form").addEventListener("submit", (ev) => { ev.preventDefault(); location.hash = "#/address?q=" + encodeURIComponent($("ad-q").value.trim()); });
    $("su-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadSupps(true).catch(fail); });
    $("su-more").addEventListener("click", () => loadSupps(false).catch(fail));
    $("su-csv").addEventListener("click", () => { const q = suppQuery(); q.delete("order"); q.delete("limit"); download("/api/v1/suppressions.csv?" + q.toString(), "bounced-suppressions.csv"); });
    $("su-add").addEventListener("submit", addSupp);
    $("rv-all").addEventListener("change", () => showReview().catch(fail));
    $("rf-test").addEventListener("click", () => impact($("rf-line").value.trim(), $("rf-impact"), $("rf-save")));
    $("rf-line").addEventListener("input", () => { $("rf-save").disabled = true; });
    $("rule-form").addEventListener("submit", async (ev) => { ev.preventDefault(); await saveRule($("rf-line").value.trim(), $("rf-impact")); $("rf-save").disabled = true; });
    $("rf-cancel").addEventListener("click", () => { $("rule-form").hidden = true; });
    $("ru-test").addEventListener("click", () => impact($("ru-line").value.trim(), $("ru-impact"), $("ru-save")));
    $("ru-line").addEventListener("input", () => { $("ru-save").disabled = true; });
    $("ru-add").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (await saveRule($("ru-line").value.trim(), $("ru-impact"))) { $("ru-line").value = ""; $("ru-save").disabled = true; await showRules(); }
    });
    $("ru-q").addEventListener("input", drawRules);
    $("se-q").addEventListener("input", drawSettings);
    $("se-changed").addEventListener("change", drawSettings);
    $("dr-close").addEventListener("click", closeDrawer);
    document.addEventListener("keydown", (ev) => {
      if ($("drawer").hidden) return;
      if (ev.key === "Escape") { closeDrawer(); return; }
      if (ev.key !== "Tab") return;
      /* the drawer is modal: Tab cycles through its own controls */
      const f = Array.from($("drawer").querySelectorAll("button, a[href]"));
      if (!f.length) return;
      const first = f[0], last = f[f.length - 1];
      if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
      else if (!ev.shiftKey && (document.activeElement === last || !$("drawer").contains(document.activeElement))) { ev.preventDefault(); first.focus(); }
    });
    if (S.token) signIn().catch(fail); else showSignin("");
  });
})();
