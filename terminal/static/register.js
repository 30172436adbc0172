/* The registration screen: item rows added and removed, the case posted through
 * Terminal.post (one action id per registration, retried as is). */
(function () {
  "use strict";
  const form = document.getElementById("register-form");
  const body = document.querySelector("#reg-items tbody");
  const template = body.querySelector(".item-row").cloneNode(true);
  const val = (id) => document.getElementById(id).value;

  function wire(row) {
    row.querySelector(".remove-row").addEventListener("click", () => {
      if (body.querySelectorAll(".item-row").length > 1) row.remove();
    });
  }
  wire(body.querySelector(".item-row"));
  document.getElementById("add-row").addEventListener("click", () => {
    const row = template.cloneNode(true);
    body.appendChild(row);
    wire(row);
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const items = Array.from(body.querySelectorAll(".item-row"), (row) => {
      const item = {};
      for (const f of row.querySelectorAll("[data-field]")) item[f.dataset.field] = f.value;
      return item;
    });
    const answer = await Terminal.post("/api/register", {
      title: val("reg-title"), complainant_name: val("reg-complainant"),
      complainant_contact: val("reg-contact"), items: items,
    }, "register");
    if (answer.ok) {
      const result = document.getElementById("register-result");
      result.textContent = answer.message;
      result.dataset.case = answer.case;
      result.hidden = false;
      form.reset();
      for (const row of Array.from(body.querySelectorAll(".item-row")).slice(1)) row.remove();
    }
  });
})();
