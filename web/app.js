/* bounced dashboard: stats, recent events and the review queue from the HTTP API.
 * The token is kept in sessionStorage only (gone when the tab closes). Every value from the
 * server is inserted as text (textContent), never as HTML. */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { token: sessionStorage.getItem("bnc_token") || "", filter: null };

  function day(d) { return d.toISOString().slice(0, 10); }
  function fmtTime(t) {
    if (!t) return "";
    return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);
  }
  function setStatus(msg, isError) {
    $("status").textContent = msg;
    $("status").className = isError ? "error" : "";
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  async function api(path, opts) {
    const o = opts || {};
    o.headers = Object.assign({ Authorization: "Bearer " + state.token }, o.headers || {});
    const r = await fetch(path, o);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const m = body && body.error ? body.error.message : r.statusText;
      throw new Error(r.status + ": " + m);
    }
    return body;
  }

  function range() {
    const s = $("since").value, u = $("until").value;
    const q = new URLSearchParams();
    if (s) q.set("since", s);
    if (u) {
      const d = new Date(u + "T00:00:00Z");
      d.setUTCDate(d.getUTCDate() + 1); /* "to" is inclusive in the form */
      q.set("until", day(d));
    }
    return q;
  }

  function bars(id, rows, dim) {
    const box = $(id);
    box.replaceChildren();
    if (!rows || rows.length === 0) { box.appendChild(el("p", "no data", "filter")); return; }
    const max = Math.max.apply(null, rows.map((r) => r.count)) || 1;
    rows.forEach((r) => {
      const row = el("div", null, "row");
      row.title = r.key + ": " + r.count;
      const track = el("div", null, "track");
      const fill = el("div", null, "fill");
      fill.style.width = (100 * r.count / max).toFixed(1) + "%";
      track.appendChild(fill);
      row.append(el("span", r.key || "(none)", "label"), track, el("span", r.count, "n"));
      if (dim) row.addEventListener("click", () => { state.filter = { dim: dim, key: r.key }; loadEvents(); });
      box.appendChild(row);
    });
  }

  function days(rows) {
    const box = $("by_day");
    box.replaceChildren();
    const max = Math.max.apply(null, (rows || []).map((r) => r.count).concat([1]));
    (rows || []).forEach((r) => {
      const d = el("div", null, "day");
      d.style.height = Math.max(2, 100 * r.count / max).toFixed(1) + "%";
      d.title = r.key + ": " + r.count;
      box.appendChild(d);
    });
    if (!rows || rows.length === 0) box.appendChild(el("p", "no data", "filter"));
  }

  function totals(t) {
    const box = $("totals");
    box.replaceChildren();
    const items = [["contacts", t.contacts], ["suppressed", t.suppressions], ["events", t.events],
                   ["messages", t.messages], ["open reviews", t.review_open]];
    items.forEach((it) => {
      const c = el("div", null, "card");
      c.append(el("b", it[1]), el("span", it[0]));
      box.appendChild(c);
    });
  }

  async function loadStats() {
    const s = await api("/api/v1/stats?" + range().toString());
    totals(s.totals || {});
    bars("by_reason", s.by_reason, "reason");
    bars("by_kind", s.by_kind, "kind");
    bars("by_domain", s.by_domain, "domain");
    bars("by_status", s.by_status, null);
    days(s.by_day);
  }

  async function loadEvents() {
    const q = range();
    q.set("limit", "1000");
    const f = $("filter");
    f.replaceChildren();
    if (state.filter) {
      q.set(state.filter.dim, state.filter.key);
      f.append(el("span", state.filter.dim + " = " + state.filter.key));
      const b = el("button", "clear");
      b.type = "button";
      b.addEventListener("click", () => { state.filter = null; loadEvents(); });
      f.appendChild(b);
    }
    /* pages are oldest first: follow the cursor a few pages, then show the newest 100 */
    let rows = [], after = null;
    for (let i = 0; i < 5; i++) {
      if (after) q.set("after", after);
      const page = await api("/api/v1/events?" + q.toString());
      rows = rows.concat(page.data).slice(-100);
      after = page.next;
      if (!after) break;
    }
    const tb = $("events").tBodies[0];
    tb.replaceChildren();
    rows.reverse().forEach((e) => {
      const tr = el("tr");
      tr.append(el("td", fmtTime(e.event_time)), el("td", e.recipient), el("td", e.reason),
                el("td", e.kind, "k-" + e.kind), el("td", e.status), el("td", e.source),
                el("td", e.policy));
      const d = el("td", e.diagnostic, "diag");
      d.title = e.diagnostic || "";
      tr.appendChild(d);
      tb.appendChild(tr);
    });
    if (rows.length === 0) {
      const tr = el("tr"), td = el("td", "no events in this range");
      td.colSpan = 8;
      tr.appendChild(td);
      tb.appendChild(tr);
    }
  }

  async function resolve(id, how) {
    try {
      await api("/api/v1/review/" + id, { method: "POST", headers: { "Content-Type": "application/json" },
                                          body: JSON.stringify({ resolution: how }) });
      setStatus("review item " + id + " resolved as " + how);
      await Promise.all([loadReview(), loadStats()]);
    } catch (e) { setStatus(e.message, true); }
  }

  async function loadReview() {
    const page = await api("/api/v1/review?limit=200");
    const tb = $("review").tBodies[0];
    tb.replaceChildren();
    page.data.forEach((r) => {
      const tr = el("tr");
      tr.append(el("td", r.id), el("td", fmtTime(r.event_time)), el("td", r.recipient),
                el("td", r.reason), el("td", r.status));
      const d = el("td", r.diagnostic, "diag");
      d.title = r.diagnostic || "";
      const act = el("td");
      ["hard", "soft", "ignore"].forEach((how) => {
        const b = el("button", how);
        b.type = "button";
        b.addEventListener("click", () => resolve(r.id, how));
        act.appendChild(b);
      });
      tr.append(d, act);
      tb.appendChild(tr);
    });
    if (page.data.length === 0) {
      const tr = el("tr"), td = el("td", "the review queue is empty");
      td.colSpan = 7;
      tr.appendChild(td);
      tb.appendChild(tr);
    }
  }

  async function loadAll() {
    if (!state.token) { setStatus("enter an API token (contact:read) to load the dashboard"); return; }
    setStatus("loading...");
    try {
      await loadStats();
      await loadEvents();
      await loadReview();
      setStatus("updated " + new Date().toISOString().slice(0, 19).replace("T", " ") + " UTC");
    } catch (e) { setStatus(e.message, true); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const now = new Date();
    const from = new Date(now.getTime() - 29 * 86400000);
    $("since").value = day(from);
    $("until").value = day(now);
    $("token").value = state.token;
    $("auth").addEventListener("submit", (ev) => {
      ev.preventDefault();
      state.token = $("token").value.trim();
      sessionStorage.setItem("bnc_token", state.token);
      loadAll();
    });
    $("forget").addEventListener("click", () => {
      sessionStorage.removeItem("bnc_token");
      state.token = "";
      $("token").value = "";
      setStatus("token forgotten");
    });
    loadAll();
  });
})();
