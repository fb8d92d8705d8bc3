// Processing status: rows rebuilt from the JSON endpoint every few seconds (textContent only).
"use strict";

(() => {
  const table = document.getElementById("status");
  const body = table.querySelector("tbody");
  const row = document.getElementById("status-row");
  const note = document.getElementById("status-note");

  function render(calls) {
    const rows = calls.map((call) => {
      const tr = row.content.firstElementChild.cloneNode(true);
      tr.dataset.call = call.id;
      tr.classList.add("state-" + call.state);
      for (const cell of tr.querySelectorAll("[data-field]")) cell.textContent = call[cell.dataset.field] || "";
      tr.querySelector("a").href = call.url;
      tr.querySelector("progress").value = call.state === "scored" || call.state === "in_review"
        || call.state === "confirmed" ? 1 : call.progress;
      const form = tr.querySelector("form");
      if (call.retry_url) { form.action = call.retry_url; form.hidden = false; }
      return tr;
    });
    body.replaceChildren(...rows);
  }

  async function refresh() {
    try {
      const response = await fetch(table.dataset.url, {headers: {Accept: "application/json"}});
      if (!response.ok) throw new Error(response.statusText);
      render((await response.json()).calls);
      note.textContent = "";
    } catch (err) {
      note.textContent = note.dataset.failed;
    }
  }

  refresh();
  setInterval(refresh, parseInt(table.dataset.every, 10));
})();
