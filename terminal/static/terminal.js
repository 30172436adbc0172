/* The locker terminal's screens: a little vanilla JavaScript, nothing fetched from outside.
 *
 * - Every action is a JSON POST with an action_id drawn when the person asks for it; if the
 *   network to the daemon drops, the id is kept and the retry sends the same id, so the
 *   daemon answers once (nothing is recorded twice, nothing is recorded falsely).
 * - /api/status is polled: alarms (a one-line banner on every screen: how many, the latest
 *   with its time, place and items, and a link to the alarms screen, so the screen's own
 *   action never moves below the fold), the SMS channel on the status line, the network banner, the idle lock (server side),
 *   and the door state of the compartment being worked.
 * - The PIN can be typed on the on-screen pad or on a physical keyboard (digits, Backspace,
 *   Escape, Enter).
 * - The scanner is a keyboard wedge: it types the label or badge and Enter into #scanbox
 *   (or the badge field), which keeps the focus when no other field has it.
 */
(function () {
  "use strict";
  const body = document.body;
  const base = body.dataset.base || "";
  const pending = {};          // intent -> action id kept until the daemon answered
  let online = true;
  let unanswered = false;     // an action got no answer while the network was down
  let lastTouch = Date.now();
  let scanHandler = null;

  function newId() {
    const a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function show(text, kind) {
    const box = document.getElementById("message");
    if (!text) { box.hidden = true; return; }
    box.textContent = text;
    box.className = "message " + (kind || "info");
    box.hidden = false;
  }

  function flash(text, kind) {
    sessionStorage.setItem("flash", JSON.stringify([text, kind || "ok"]));
  }

  function setOnline(now) {
    const banner = document.getElementById("net-banner");
    if (now === online) return;
    online = now;
    banner.hidden = now;
    body.classList.toggle("offline", !now);
    if (now) show(unanswered ? body.dataset.msgBackRetry : body.dataset.msgBack,
                  unanswered ? "error" : "ok");
  }

  async function post(path, data, intent) {
    const key = intent || path;
    if (!pending[key]) pending[key] = newId();
    const payload = Object.assign({}, data || {}, { action_id: pending[key] });
    let response;
    try {
      response = await fetch(base + path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
        credentials: "same-origin",
      });
    } catch (err) {
      unanswered = true;
      setOnline(false);
      show(body.dataset.msgOffline, "error");
      return { ok: false, offline: true };
    }
    unanswered = false;
    setOnline(true);
    let answer;
    try { answer = await response.json(); } catch (err) { answer = { ok: false }; }
    if (response.status === 401) {
      window.location.href = base + "/signin?why=idle";
      return answer;
    }
    delete pending[key];       // the daemon answered: the next try is a new action
    if (answer.message) show(answer.message, answer.ok ? "ok" : "error");
    if (answer.ok && answer.redirect) {
      flash(answer.message || "", answer.tone || "ok");
      window.location.href = answer.redirect;
    }
    return answer;
  }

  function renderAlarms(alarms) {
    const banner = document.getElementById("alarm-banner");
    const count = document.getElementById("alarm-count");
    const latest = document.getElementById("alarm-latest");
    banner.hidden = alarms.length === 0;
    body.classList.toggle("alarmed", alarms.length > 0);
    if (alarms.length) {
      count.textContent = alarms.length === 1 ? count.dataset.one
        : count.dataset.many.replace("{count}", String(alarms.length));
      const a = alarms[alarms.length - 1];
      latest.textContent = [a.time, a.text, a.items_text].filter(Boolean).join(" · ");
    }
    const ids = alarms.map((a) => a.id).join(",");
    if (body.dataset.screen === "alarms") {
      const shown = Array.from(document.querySelectorAll("[data-alarm]"), (li) => li.dataset.alarm).join(",");
      if (ids !== shown) window.location.reload();  // the list changed: show it
    }
  }

  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    const comp = body.dataset.compartment;
    const url = base + "/api/status" + (comp ? "?compartment=" + encodeURIComponent(comp) : "");
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      const status = await response.json();
      setOnline(true);
      if (body.dataset.signedIn === "yes" && !status.signed_in) {
        window.location.href = base + "/signin?why=idle";
        return;
      }
      renderAlarms(status.alarms || []);
      const sms = document.getElementById("sms-state");
      if (sms && status.sms) {  // the status line: the SMS channel's state
        sms.textContent = status.sms.text;
        sms.classList.toggle("bad", !status.sms.ok);
        sms.hidden = false;
      }
      if (status.compartment) {
        const door = document.getElementById("door-state");
        if (door) {
          door.textContent = status.compartment.error || status.compartment.text;
          door.dataset.closed = status.compartment.door_closed ? "yes" : "no";
          door.classList.toggle("open", !status.compartment.door_closed);
        }
      }
    } catch (err) {
      setOnline(false);
    } finally {
      polling = false;
    }
  }

  function touched() { lastTouch = Date.now(); }

  function idleCheck() {
    const idle = Number(body.dataset.idleMs || 0);
    if (body.dataset.signedIn === "yes" && idle > 0 && Date.now() - lastTouch > idle) {
      window.location.href = base + "/lock";
    }
  }

  function isTextField(el) {
    return !!el && (el.tagName === "TEXTAREA" ||
      (el.tagName === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(el.type)));
  }

  // The scanner types fast: a keystroke that arrives while a button (or nothing) has the
  // focus is steered into the scan field at once, so no character of a label is lost.
  function steerKeys() {
    document.addEventListener("keydown", (ev) => {
      const active = document.activeElement;
      if (isTextField(active) || body.dataset.pinEntry === "yes") return;
      if (ev.key.length !== 1 || ev.ctrlKey || ev.altKey || ev.metaKey) return;
      const badge = document.getElementById("badge");
      const box = badge && !badge.closest("[hidden]") ? badge : document.getElementById("scanbox");
      if (!box || box === active) return;
      box.value += ev.key;
      box.focus({ preventScroll: true });
      ev.preventDefault();
    }, true);
  }

  function keepScanFocus() {
    const box = document.getElementById("scanbox");
    const active = document.activeElement;
    if (!isTextField(active) && active !== box) box.focus({ preventScroll: true });
  }

  function startCamera() {
    // Each frame is fetched, then swapped in: a frame that fails (network lost, camera
    // gone) leaves the last good one on screen instead of a broken image.
    const img = document.getElementById("camera");
    if (!img) return;
    const every = Number(body.dataset.cameraMs || 1000);
    let shown = null;
    async function tick() {
      try {
        const r = await fetch(base + "/api/camera.jpg?t=" + Date.now(), { credentials: "same-origin", cache: "no-store" });
        if (r.ok) {
          const url = URL.createObjectURL(await r.blob());
          img.src = url;
          if (shown) URL.revokeObjectURL(shown);
          shown = url;
          img.dataset.labels = r.headers.get("X-Labels") || "";
        }
      } catch (err) { /* keep the last frame; the status poll shows the network banner */ }
      setTimeout(tick, every);
    }
    tick();
  }

  function common() {
    for (const b of document.querySelectorAll("button.lang")) {
      b.addEventListener("click", async () => {
        try {
          await fetch(base + "/api/lang", { method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ lang: b.dataset.lang }), credentials: "same-origin" });
          window.location.reload();
        } catch (err) { setOnline(false); }
      });
    }
    const out = document.getElementById("signout");
    if (out) out.addEventListener("click", async () => {
      try { await fetch(base + "/api/signout", { method: "POST", credentials: "same-origin" }); } catch (err) { /* locked anyway */ }
      window.location.href = base + "/signin?why=signout";
    });
    const box = document.getElementById("scanbox");
    box.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        const text = box.value.trim();
        box.value = "";
        if (text && scanHandler) scanHandler(text);
      }
    });
    for (const ev of ["pointerdown", "keydown", "touchstart"]) document.addEventListener(ev, touched, true);
    steerKeys();
    const stored = sessionStorage.getItem("flash");
    if (stored) {
      sessionStorage.removeItem("flash");
      const [text, kind] = JSON.parse(stored);
      if (text) show(text, kind);
    }
    poll();
    setInterval(poll, Number(body.dataset.pollMs || 1000));
    setInterval(idleCheck, 1000);
    if (body.dataset.screen !== "signin") {
      setInterval(keepScanFocus, 500);
      keepScanFocus();
    }
  }

  // ------------------------------------------------------------------ screens

  function signinScreen() {
    const badge = document.getElementById("badge");
    const stepBadge = document.getElementById("step-badge");
    const stepPin = document.getElementById("step-pin");
    const dots = document.getElementById("pin-dots");
    let pin = "";
    let holder = "";
    const drawDots = () => {
      dots.textContent = "●".repeat(pin.length) || "—";
      dots.dataset.length = String(pin.length);
    };
    const pinShown = () => !stepPin.hidden;
    async function sendBadge() {
      const text = badge.value.trim();
      if (!text) return;
      try {
        const r = await fetch(base + "/api/badge", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ badge: text }), credentials: "same-origin" });
        setOnline(true);
        const a = await r.json();
        if (!a.ok) { show(a.message, "error"); badge.select(); return; }
        holder = text;
        pin = "";
        drawDots();
        document.getElementById("pin-prompt").textContent = a.message;
        stepBadge.hidden = true;
        stepPin.hidden = false;
        body.dataset.pinEntry = "yes";
        badge.blur();
        show("");
      } catch (err) { setOnline(false); show(body.dataset.msgOffline, "error"); }
    }
    async function sendPin() {
      try {
        const r = await fetch(base + "/api/signin", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ badge: holder, pin: pin }), credentials: "same-origin" });
        setOnline(true);
        const a = await r.json();
        pin = "";
        drawDots();
        if (a.ok) { window.location.href = a.redirect; return; }
        show(a.message, "error");
        if (a.key === "signin.locked") { backToBadge(); }
      } catch (err) { setOnline(false); show(body.dataset.msgOffline, "error"); }
    }
    badge.addEventListener("keydown", (ev) => { if (ev.key === "Enter") sendBadge(); });
    document.getElementById("badge-next").addEventListener("click", sendBadge);
    function backToBadge() {
      stepPin.hidden = true; stepBadge.hidden = false; badge.value = ""; badge.focus();
      body.dataset.pinEntry = "no";
      pin = "";
      drawDots();
    }
    document.getElementById("pin-back").addEventListener("click", backToBadge);
    // a physical keyboard types the PIN too: digits, Backspace, Escape (clear), Enter
    document.addEventListener("keydown", (ev) => {
      if (!pinShown() || ev.ctrlKey || ev.altKey || ev.metaKey) return;
      if (/^[0-9]$/.test(ev.key)) { if (pin.length < 12) pin += ev.key; }
      else if (ev.key === "Backspace") pin = pin.slice(0, -1);
      else if (ev.key === "Escape") pin = "";
      else if (ev.key === "Enter") { ev.preventDefault(); sendPin(); return; }
      else return;
      ev.preventDefault();
      drawDots();
    }, true);
    for (const key of document.querySelectorAll(".keypad .key")) {
      key.addEventListener("click", () => {
        if (key.dataset.digit !== undefined) { if (pin.length < 12) pin += key.dataset.digit; }
        else if (key.dataset.key === "clear") pin = "";
        else if (key.dataset.key === "ok") { sendPin(); return; }
        drawDots();
      });
    }
    badge.focus();
  }

  function homeScreen() {
    scanHandler = null;
  }

  function handoverScreen(caseId) {
    const state0 = JSON.parse(document.getElementById("state").textContent);
    const tbody = document.querySelector("#manifest tbody");
    const statusText = {
      pending: document.getElementById("t-status-pending").innerHTML,
      ticked: document.getElementById("t-status-ticked").innerHTML,
      done: document.getElementById("t-status-done").innerHTML,
    };
    const dropText = document.getElementById("t-drop").innerHTML;
    const enc = encodeURIComponent(caseId).replace(/%2F/g, "/");
    function photoCell(sha) {
      if (!sha) return "";
      return '<img class="thumb" alt="" src="' + base + "/api/photo/" + sha + '">';
    }
    function render(state) {
      tbody.textContent = "";
      for (const line of state.lines) {
        const tr = document.createElement("tr");
        tr.className = "line " + line.status;
        tr.dataset.label = line.label;
        tr.innerHTML = '<td class="mark">' + statusText[line.status] + "</td>" +
          '<td class="label-text"></td><td class="desc"></td><td class="qty"></td><td>' + photoCell(line.photo) + "</td>";
        tr.querySelector(".label-text").textContent = line.label;
        tr.querySelector(".desc").textContent = line.description;
        tr.querySelector(".qty").textContent = line.quantity;
        tbody.appendChild(tr);
      }
      const missing = document.getElementById("missing");
      missing.hidden = state.missing.length === 0;
      missing.querySelector("span").textContent = state.missing.join(", ");
      const extra = document.getElementById("extra");
      const ul = extra.querySelector("ul");
      ul.textContent = "";
      for (const e of state.extra) {
        const li = document.createElement("li");
        li.dataset.extra = e.label;
        li.innerHTML = '<span class="label-text"></span> ' + photoCell(e.photo) + ' <button type="button" class="btn quiet drop"></button>';
        li.querySelector(".label-text").textContent = e.label;
        const drop = li.querySelector(".drop");
        drop.textContent = dropText;
        drop.addEventListener("click", async () => {
          const a = await post("/api/handover/" + enc + "/drop", { label: e.label }, "drop:" + e.label);
          if (a.ok) render(a.state);
        });
        ul.appendChild(li);
      }
      extra.hidden = state.extra.length === 0;
    }
    async function scan(text) {
      const a = await post("/api/handover/" + enc + "/scan", { text: text || null }, "scan:" + (text || "camera"));
      if (a.ok) {
        render(a.state);
        if (a.tone) show(a.message, a.tone);  // not on the manifest, or handed over before
      }
    }
    render(state0);
    scanHandler = scan;
    document.getElementById("scan").addEventListener("click", () => scan(null));
    document.getElementById("commit").addEventListener("click", () => {
      const checklist = {};
      for (const box of document.querySelectorAll(".checklist input[type=checkbox]")) checklist[box.name] = box.checked;
      post("/api/handover/" + enc + "/commit", { checklist: checklist, reason: document.getElementById("reason").value }, "commit");
    });
    startCamera();
  }

  function storageScreen() {
    const open = document.getElementById("store-open");
    if (open) open.addEventListener("click", () => {
      const enc = encodeURIComponent(open.dataset.case).replace(/%2F/g, "/");
      post("/api/store/" + enc + "/open", {}, "store-open");
    });
    for (const b of document.querySelectorAll("[data-reprint]")) {
      b.addEventListener("click", () => post("/api/label/reprint", { label: b.dataset.reprint }, "reprint:" + b.dataset.reprint));
    }
  }

  function bayScreen() {
    document.getElementById("reopen").addEventListener("click", () => post("/api/bay/reopen", {}));
    document.getElementById("cancel").addEventListener("click", () => post("/api/bay/cancel", {}));
    document.getElementById("photo").addEventListener("click", async () => {
      const a = await post("/api/bay/photo", {});
      if (a.ok) {
        const img = document.getElementById("step-photo");
        img.src = base + "/api/photo/" + a.photo;
        img.hidden = false;
        document.getElementById("no-photo").hidden = true;
        document.getElementById("commit").disabled = false;
      }
    });
    document.getElementById("commit").addEventListener("click", () => post("/api/bay/commit", {}));
    startCamera();
  }

  function officerScreen() {
    for (const b of document.querySelectorAll("[data-take]")) {
      b.addEventListener("click", () => post("/api/checkout/open", { label: b.dataset.take }, "take:" + b.dataset.take));
    }
    const all = document.getElementById("take-all");
    if (all) all.addEventListener("click", () => post("/api/checkout/all", {}, "take-all"));
    const ret = document.getElementById("return-scan");
    if (ret) ret.addEventListener("click", () => post("/api/return/open", { text: null }, "return:camera"));
    scanHandler = (text) => post("/api/return/open", { text: text }, "return:" + text);
    startCamera();
  }

  function alarmsScreen() {
    for (const b of document.querySelectorAll("[data-ack]")) {
      b.addEventListener("click", async () => {
        const a = await post("/api/alarms/" + encodeURIComponent(b.dataset.ack) + "/ack", {}, "ack:" + b.dataset.ack);
        if (a.ok) { flash(a.message, "ok"); window.location.reload(); }
      });
    }
  }

  function casesScreen() {
    const form = document.getElementById("stage-form");
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const [caseId, stage] = document.getElementById("stage-choice").value.split("|");
      const a = await post("/api/stage", {
        case: caseId, stage: stage,
        document: document.getElementById("stage-document").value,
        number: document.getElementById("stage-number").value,
      }, "stage:" + caseId + ":" + stage);
      if (a.ok) { flash(a.message, "ok"); window.location.reload(); }
    });
  }

  window.Terminal = { post, show, poll, signinScreen, homeScreen, handoverScreen, storageScreen, bayScreen, officerScreen, alarmsScreen, casesScreen };
  common();
})();
