// Call page: the waveform (wavesurfer.js over the page's own <audio>, the server's peaks, each turn
// and each evidence a clickable region, zoom, playback speed), click-to-play turns and evidence,
// the playing turn highlighted, item saves without reloading, keyboard shortcuts. A text-level call
// has no recording: its evidence buttons show the turn. Data goes into the page with textContent only.
import WaveSurfer from "./vendor/wavesurfer/wavesurfer.esm.js";
import RegionsPlugin from "./vendor/wavesurfer/regions.esm.js";

(() => {
  const audio = document.getElementById("audio");
  const container = document.getElementById("waveform");
  const notice = document.getElementById("notice");
  const turns = Array.from(document.querySelectorAll(".turn[data-start]"));
  const items = Array.from(document.querySelectorAll("[data-item]"));
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const REGION_COLOURS = {agent: "rgba(127, 176, 255, 0.10)", customer: "rgba(255, 255, 255, 0.05)",
                          fail: "rgba(255, 82, 82, 0.45)", pass: "rgba(76, 200, 120, 0.30)", na: "rgba(160, 160, 160, 0.3)"};

  function say(message) {
    notice.textContent = message;
    notice.hidden = !message;
  }

  function clock(seconds) {
    const s = Math.floor(seconds || 0);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function showTurn(index) {
    const turn = turns[index];
    if (!turn) return;
    for (const t of turns) t.classList.toggle("playing", t === turn);
    turn.scrollIntoView({block: "nearest"});
  }

  function playFrom(seconds, turnIndex) {
    if (!audio) { showTurn(turnIndex); return; }
    audio.currentTime = seconds;
    audio.play().catch(() => {});
  }

  // Waveform with regions
  function setUpWaveform(peaks, duration) {
    const regions = RegionsPlugin.create();
    const wave = WaveSurfer.create({
      container, media: audio, height: 80, normalize: true, cspNonce: container.dataset.cspNonce,
      waveColor: "#4a5872", progressColor: "#7fb0ff", cursorColor: "#ffffff", cursorWidth: 2,
      barWidth: 2, barGap: 1, dragToSeek: true, plugins: [regions],
      ...(peaks.length && duration ? {peaks: [peaks], duration} : {}),
    });
    wave.on("decode", () => {
      for (const turn of turns) {
        regions.addRegion({id: "t" + turn.id.slice(1), start: parseFloat(turn.dataset.start), end: parseFloat(turn.dataset.end),
                           color: REGION_COLOURS[turn.classList.contains("role-agent") ? "agent" : "customer"],
                           drag: false, resize: false});
      }
      // Evidence found in a turn; whole-call figures (speech rate, a searched window) stay buttons only.
      for (const button of document.querySelectorAll("button.play[data-region][data-turn]")) {
        if (button.closest("li.window")) continue;
        const start = parseFloat(button.dataset.start), end = Math.max(parseFloat(button.dataset.end), start + 0.3);
        regions.addRegion({id: button.dataset.region, start, end, content: button.dataset.label,
                           color: REGION_COLOURS[button.dataset.verdict] || REGION_COLOURS.na, drag: false, resize: false});
      }
    });
    regions.on("region-clicked", (region, event) => {
      event.stopPropagation();
      playFrom(region.start);
    });
    const controls = document.getElementById("player-controls");
    controls.hidden = false;
    document.getElementById("play-pause").addEventListener("click", () => wave.playPause());
    const shown = document.getElementById("clock");
    const tick = () => { shown.textContent = clock(audio.currentTime) + " / " + clock(audio.duration); };
    audio.addEventListener("timeupdate", tick);
    audio.addEventListener("loadedmetadata", tick);
    audio.addEventListener("seeked", tick);
    tick();
    for (const button of controls.querySelectorAll("button[data-rate]")) {
      button.addEventListener("click", () => {
        audio.playbackRate = parseFloat(button.dataset.rate);
        for (const b of controls.querySelectorAll("button[data-rate]")) b.classList.toggle("current", b === button);
      });
    }
    document.getElementById("zoom").addEventListener("input", (event) => {
      const perSecond = Number(event.target.value);
      if (perSecond === 0 || wave.getDuration()) wave.zoom(perSecond);
    });
    container.wave = wave;
  }

  if (audio && container) {
    fetch(container.dataset.peaksUrl, {headers: {Accept: "application/json"}})
      .then((r) => (r.ok ? r.json() : {peaks: []}))
      .catch(() => ({peaks: []}))
      .then((data) => setUpWaveform(data.peaks || [], data.duration));
  }

  // Transcript follows the audio
  function highlight() {
    const t = audio.currentTime;
    let playing = null;
    for (const turn of turns) {
      if (parseFloat(turn.dataset.start) <= t && t < parseFloat(turn.dataset.end)) playing = turn;
    }
    for (const turn of turns) turn.classList.toggle("playing", turn === playing);
    if (playing && !audio.paused) playing.scrollIntoView({block: "nearest"});
  }
  if (audio) audio.addEventListener("timeupdate", highlight);
  for (const [index, turn] of turns.entries()) {
    turn.addEventListener("click", () => playFrom(parseFloat(turn.dataset.start), index));
    turn.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); playFrom(parseFloat(turn.dataset.start), index); }
    });
  }
  for (const button of document.querySelectorAll("button.play[data-start]")) {
    button.addEventListener("click", () => playFrom(parseFloat(button.dataset.start), Number(button.dataset.turn)));
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
    if (event.key === " " && audio) {
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
      if (first && audio) audio.currentTime = parseFloat(first.dataset.start);
    }
  }
})();
