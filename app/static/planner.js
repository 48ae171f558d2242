// Taper planner: recompute on change without a full reload, copy the CarePlan, print the
// handout. Everything here is an enhancement: the forms work as plain GET round-trips.
"use strict";

function plannerQuery(form) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (name === "hold" && value.endsWith(":0")) continue;   // "go on as planned" is the default
    if (value === "" && name !== "dose") continue;
    params.append(name, value);
  }
  return params.toString();
}

async function refresh(form, changed) {
  const url = `${form.action}?${plannerQuery(form)}`;
  form.classList.add("busy");
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "text/html" } });
  } catch (error) {
    window.location.assign(url);   // offline or blocked: fall back to the plain round-trip
    return;
  }
  if (!response.ok) { window.location.assign(url); return; }
  const next = new DOMParser().parseFromString(await response.text(), "text/html");
  const main = next.querySelector("main");
  if (!main) { window.location.assign(url); return; }
  document.querySelector("main").replaceWith(main);
  document.title = next.title;
  history.replaceState(null, "", url);
  const live = document.getElementById("live");
  if (live) live.textContent = "Plan updated.";
  const again = changed && changed.id ? document.getElementById(changed.id) : null;
  if (again) again.focus();
  enhance();
}

function enhance() {
  const form = document.getElementById("planner-form");
  if (form && !form.dataset.enhanced) {
    form.dataset.enhanced = "1";
    form.addEventListener("change", (event) => {
      const target = event.target;
      if (target.name === "dose" && !target.checkValidity()) return;
      refresh(form, target);
    });
    form.addEventListener("submit", (event) => { event.preventDefault(); refresh(form, null); });
  }
  const copy = document.getElementById("careplan-copy");
  const json = document.getElementById("careplan-json");
  if (copy && json) {
    copy.hidden = false;
    copy.addEventListener("click", async () => {
      const status = document.getElementById("copy-status");
      try {
        await navigator.clipboard.writeText(json.value);
        status.textContent = "Copied.";
      } catch (error) {
        json.closest("details").open = true;
        json.select();
        status.textContent = "Select all and copy the JSON below.";
      }
    });
  }
  const print = document.getElementById("print-button");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", () => window.print());
  }
}

document.addEventListener("DOMContentLoaded", enhance);
