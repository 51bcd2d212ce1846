// Forewarn dashboards: sorting and filtering tables, live refresh over server-sent events.
// No framework and no build step: pages are rendered by the server; this script only re-fetches
// the page and swaps the parts marked data-live, so what a planner sees is what the server says.
"use strict";

(function () {
  function cellValue(row, index) {
    const cell = row.children[index];
    if (!cell) return "";
    const v = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim();
    const n = Number(v);
    return v !== "" && !Number.isNaN(n) ? n : v.toLowerCase();
  }

  // Sorts every body of a table (site groups stay groups) by the column of a header button.
  function sortTable(table, index, descending) {
    for (const body of table.tBodies) {
      const rows = Array.from(body.querySelectorAll("tr[data-row]"));
      rows.sort(function (a, b) {
        const x = cellValue(a, index), y = cellValue(b, index);
        const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return descending ? -c : c;
      });
      for (const r of rows) body.appendChild(r);
    }
  }

  function applySort(table) {
    const th = table.querySelector("th[aria-sort]");
    if (!th) return;
    const index = Array.from(th.parentNode.children).indexOf(th);
    sortTable(table, index, th.getAttribute("aria-sort") === "descending");
  }

  // One listener for the whole page, so rows and headers swapped in by a refresh keep working.
  document.addEventListener("click", function (e) {
    const button = e.target.closest && e.target.closest("th button[data-sort]");
    if (!button) return;
    const th = button.closest("th");
    const table = button.closest("table");
    const descending = th.getAttribute("aria-sort") === "ascending";
    for (const other of table.querySelectorAll("th[aria-sort]")) other.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    applySort(table);
  });

  // Hides rows that do not match the text box and the state menu; hides empty site groups.
  function applyFilter(form) {
    const table = document.getElementById(form.dataset.filter);
    if (!table) return;
    const text = (form.querySelector("[name=q]") || { value: "" }).value.trim().toLowerCase();
    const state = (form.querySelector("[name=state]") || { value: "" }).value;
    let shown = 0;
    for (const body of table.tBodies) {
      let visible = 0;
      for (const row of body.querySelectorAll("tr[data-row]")) {
        const ok = (!text || row.textContent.toLowerCase().includes(text)) && (!state || row.dataset.state === state);
        row.hidden = !ok;
        if (ok) visible++;
      }
      body.hidden = visible === 0 && body.querySelector("tr[data-row]") !== null;
      shown += visible;
    }
    const count = form.querySelector("output");
    if (count) count.value = String(shown);
  }

  document.addEventListener("input", function (e) {
    const form = e.target.closest && e.target.closest("form[data-filter]");
    if (form) applyFilter(form);
  });
  document.addEventListener("submit", function (e) {
    if (e.target.dataset && e.target.dataset.filter !== undefined) { e.preventDefault(); applyFilter(e.target); }
  });

  function reapply() {
    for (const table of document.querySelectorAll("table[data-sortable]")) applySort(table);
    for (const form of document.querySelectorAll("form[data-filter]")) applyFilter(form);
  }

  // Asks before an action that cannot be undone.
  document.addEventListener("submit", function (e) {
    const msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  });

  // Live refresh: fetch this page again and swap every [data-live] element by id.
  let pending = null;
  let busy = false;
  async function refresh() {
    pending = null;
    if (busy) { schedule(1000); return; }
    busy = true;
    try {
      const res = await fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      // Keep each table's sort across the swap.
      const sorts = [];
      for (const th of document.querySelectorAll("table[id] th[aria-sort]")) {
        sorts.push([th.closest("table").id, Array.from(th.parentNode.children).indexOf(th), th.getAttribute("aria-sort")]);
      }
      for (const fresh of doc.querySelectorAll("[data-live][id]")) {
        const old = document.getElementById(fresh.id);
        // Never swap what someone is typing into.
        if (old && !old.contains(document.activeElement)) old.innerHTML = fresh.innerHTML;
      }
      for (const [id, index, dir] of sorts) {
        const table = document.getElementById(id);
        const th = table && table.tHead && table.tHead.rows[0].children[index];
        if (!th) continue;
        for (const other of table.querySelectorAll("th[aria-sort]")) other.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", dir);
      }
      reapply();
      document.dispatchEvent(new Event("forewarn:refreshed"));
    } catch (err) {
      // A failed refresh is retried at the next event or tick.
    } finally {
      busy = false;
    }
  }
  function schedule(ms) {
    if (pending === null) pending = window.setTimeout(refresh, ms);
  }

  function startLive() {
    const body = document.body;
    if (!body.dataset.live) return;
    const status = document.getElementById("live");
    const say = function (key) { if (status) status.textContent = status.dataset[key] || ""; };
    if (window.EventSource) {
      const source = new EventSource("/api/v1/events");
      source.onopen = function () { say("on"); };
      source.onerror = function () { say("off"); };
      for (const name of ["ticket_opened", "ticket_changed", "lagged"]) {
        source.addEventListener(name, function () { schedule(800); });
      }
      window.addEventListener("pagehide", function () { source.close(); });
    }
    const every = Number(body.dataset.refresh || "0");
    if (every > 0) window.setInterval(function () { schedule(0); }, every * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    reapply();
    startLive();
  });
})();
