/* The leave screens (items leaving custody): asking, deciding, carrying out, coming back.
 * Every action goes through Terminal.post (one action id per intent, retried as is). */
(function () {
  "use strict";
  const base = document.body.dataset.base || "";
  const val = (id) => (document.getElementById(id) || { value: "" }).value;

  function listScreen() {
    const form = document.getElementById("leave-ask");
    if (form) form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      Terminal.post("/api/leave/request", {
        label: val("ask-label"), kind: val("ask-kind"), reason: val("ask-reason"),
        decision_no: val("ask-decision"), receiving_unit: val("ask-unit"),
      }, "leave-ask");
    });
    const reasonOf = (n) => (document.querySelector(`[data-reason="${n}"]`) || { value: "" }).value;
    for (const b of document.querySelectorAll("[data-approve]")) {
      b.addEventListener("click", () => Terminal.post(`/api/leave/${b.dataset.approve}/decide`,
        { approve: true, reason: reasonOf(b.dataset.approve) }, "decide:" + b.dataset.approve));
    }
    for (const b of document.querySelectorAll("[data-refuse]")) {
      b.addEventListener("click", () => Terminal.post(`/api/leave/${b.dataset.refuse}/decide`,
        { approve: false, reason: reasonOf(b.dataset.refuse) }, "decide:" + b.dataset.refuse));
    }
    for (const b of document.querySelectorAll("[data-carry]")) {
      const n = b.dataset.carry;
      b.addEventListener("click", () => Terminal.post(`/api/leave/${n}/open`, {
        badge: (document.querySelector(`[data-badge="${n}"]`) || { value: "" }).value,
        pin: (document.querySelector(`[data-pin="${n}"]`) || { value: "" }).value,
      }, "carry:" + n));
    }
    const hold = document.getElementById("hold-form");
    if (hold) hold.addEventListener("submit", (ev) => {
      ev.preventDefault();
      Terminal.post("/api/leave/hold", { case: val("hold-case"), label: val("hold-label"),
                                         reason: val("hold-reason") }, "hold");
    });
    const field = (name, key) => (document.querySelector(`[data-${name}="${key}"]`) || { value: "" }).value;
    for (const b of document.querySelectorAll("[data-lift]")) {
      const k = b.dataset.lift;
      b.addEventListener("click", () => Terminal.post("/api/leave/lift", {
        case: b.dataset.case, label: b.dataset.label, reason: field("lift-reason", k),
        badge: field("lift-badge", k), pin: field("lift-pin", k) }, "lift:" + k));
    }
    for (const b of document.querySelectorAll("[data-back]")) {
      b.addEventListener("click", () => Terminal.post(`/api/leave/${b.dataset.back}/back`, {}, "back:" + b.dataset.back));
    }
  }

  function carryScreen() {
    let receipt = false;
    let photo = !document.getElementById("step-photo").hidden;
    const ready = () => { document.getElementById("commit").disabled = !(receipt && photo); };
    const showPhoto = (id, sha) => {
      const img = document.getElementById(id);
      img.src = base + "/api/photo/" + sha;
      img.hidden = false;
    };
    document.getElementById("receipt").addEventListener("click", async () => {
      const a = await Terminal.post("/api/leave/receipt", {
        name: val("r-name"), id_number: val("r-id"), unit: val("r-unit") });
      if (a.ok) { receipt = true; showPhoto("receipt-photo", a.photo); ready(); }
    });
    document.getElementById("photo").addEventListener("click", async () => {
      const a = await Terminal.post("/api/leave/photo", {});
      if (a.ok) { photo = true; showPhoto("step-photo", a.photo); ready(); }
    });
    document.getElementById("commit").addEventListener("click", () => Terminal.post("/api/leave/commit", {}));
    document.getElementById("cancel").addEventListener("click", () => Terminal.post("/api/bay/cancel", {}));
    ready();
  }

  window.TerminalLeave = { listScreen, carryScreen };
})();
