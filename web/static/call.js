// Call page: waveform from server peaks, click-to-play turns and evidence, the playing turn
// highlighted, item saves without reloading, keyboard shortcuts. Data goes into the page with
// textContent only.
"use strict";

(() => {
  const audio = document.getElementById("audio");
  const canvas = document.getElementById("waveform");
  const notice = document.getElementById("notice");
  const turns = Array.from(document.querySelectorAll(".turn[data-start]"));
  const items = Array.from(document.querySelectorAll("[data-item]"));
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let peaks = [];

  function say(message) {
    notice.textContent = message;
    notice.hidden = !message;
  }

  function playFrom(seconds) {
    audio.currentTime = seconds;
    audio.play().catch(() => {});
  }

  // Waveform
  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    if (!peaks.length) return;
    const played = audio.duration ? audio.currentTime / audio.duration : 0;
    const step = width / peaks.length;
    for (let i = 0; i < peaks.length; i++) {
      const bar = Math.max(1, peaks[i] * (height - 4));
      ctx.fillStyle = i / peaks.length < played ? "#7fb0ff" : "#4a5872";
      ctx.fillRect(i * step, (height - bar) / 2, Math.max(1, step - 0.5), bar);
    }
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(played * width, 0, 1.5, height);
  }

  fetch(canvas.dataset.peaksUrl, {headers: {Accept: "application/json"}})
    .then((r) => (r.ok ? r.json() : {peaks: []}))
    .then((data) => { peaks = data.peaks || []; draw(); })
    .catch(() => {});
  window.addEventListener("resize", draw);
  canvas.addEventListener("click", (event) => {
    if (!audio.duration) return;
    const box = canvas.getBoundingClientRect();
    playFrom(((event.clientX - box.left) / box.width) * audio.duration);
  });

  // Transcript follows the audio
  function highlight() {
    const t = audio.currentTime;
    let playing = null;
    for (const turn of turns) {
      if (parseFloat(turn.dataset.start) <= t && t < parseFloat(turn.dataset.end)) playing = turn;
    }
    for (const turn of turns) turn.classList.toggle("playing", turn === playing);
    if (playing && !audio.paused) playing.scrollIntoView({block: "nearest"});
    draw();
  }
  audio.addEventListener("timeupdate", highlight);
  audio.addEventListener("loadedmetadata", draw);
  for (const turn of turns) {
    turn.addEventListener("click", () => playFrom(parseFloat(turn.dataset.start)));
    turn.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); playFrom(parseFloat(turn.dataset.start)); }
    });
  }
  for (const button of document.querySelectorAll("button.play[data-start]")) {
    button.addEventListener("click", () => playFrom(parseFloat(button.dataset.start)));
  }

  // Saving items
  function setVersion(version) {
    for (const input of document.querySelectorAll('input[name="version"]')) input.value = version;
  }

  async function post(form) {
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form),
      headers: {"X-CSRFToken": csrf, Accept: "application/json"}, credentials: "same-origin",
    });
    let data = {};
    try { data = await response.json(); } catch (err) { data = {error: response.statusText}; }
    if (!response.ok || !data.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  async function saveItem(form) {
    const article = form.closest("[data-item]");
    try {
      const data = await post(form);
      say("");
      setVersion(data.version);
      article.classList.remove("verdict-pass", "verdict-fail", "verdict-na");
      article.classList.add("decided", "verdict-" + data.item.verdict);
      article.querySelector("[data-final]").textContent = data.item.label;
      article.querySelector("[data-comment]").textContent = data.item.comment;
      const preview = document.querySelector("[data-preview]");
      if (preview) preview.textContent = data.score + " " + data.grade;
      const state = document.querySelector("[data-state]");
      if (state && data.state_label) state.textContent = data.state_label;
    } catch (err) {
      say(err.message);
    }
  }

  for (const form of document.querySelectorAll("form[data-review-item]")) {
    form.addEventListener("submit", (event) => { event.preventDefault(); saveItem(form); });
  }

  // Keyboard
  let focused = -1;
  function focusItem(index, moveFocus = true) {
    if (!items.length) return;
    focused = Math.max(0, Math.min(items.length - 1, index));
    items.forEach((item, i) => item.classList.toggle("current", i === focused));
    if (moveFocus) {
      items[focused].scrollIntoView({block: "nearest"});
      items[focused].focus({preventScroll: true});
    }
  }

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select, button, audio");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const confirmForm = document.getElementById("confirm-call");
    if (event.key === " ") {
      event.preventDefault();
      if (audio.paused) audio.play().catch(() => {}); else audio.pause();
    } else if (event.key === "j") {
      focusItem(focused + 1);
    } else if (event.key === "k") {
      focusItem(focused - 1);
    } else if (event.key === "c" && focused >= 0) {
      const form = items[focused].querySelector("form[data-review-item]");
      if (form) saveItem(form);
    } else if (event.key === "Enter" && confirmForm) {
      event.preventDefault();
      confirmForm.requestSubmit();
    }
  });
  for (const [i, item] of items.entries()) item.addEventListener("click", () => focusItem(i, false));

  if (location.hash.startsWith("#v")) {
    const index = items.findIndex((item) => "#" + item.id === location.hash);
    if (index >= 0) {
      focusItem(index);
      const first = items[index].querySelector("button.play[data-start]");
      if (first) audio.currentTime = parseFloat(first.dataset.start);
    }
  }
})();
