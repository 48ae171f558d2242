// Card preview: loads a hook request, POSTs it to the real service, renders the cards.
// No external libraries; every server string is inserted as text, except card `detail`,
// which goes through renderMarkdown (HTML escaped first, then a small safe subset).
"use strict";

const SERVICE_BY_HOOK = {
  "patient-view": "benzo-safety-patient-view",
  "order-select": "benzo-safety-order-select",
  "order-sign": "benzo-safety-order-sign",
};
const INDICATOR_LABEL = { info: "Info", warning: "Warning", critical: "Critical" };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---------- Markdown subset ----------

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

function safeHref(escapedUrl) {
  // The URL is already HTML-escaped; only absolute http(s) targets become links.
  return /^https?:\/\/[^\s]+$/i.test(escapedUrl) ? escapedUrl : null;
}

function renderInline(escaped) {
  // Protect code spans and links with placeholders so emphasis never reaches inside them.
  const slots = [];
  const hold = (html) => `\u0000${slots.push(html) - 1}\u0000`;
  let text = escaped.replace(/`([^`]+)`/g, (_, code) => hold(`<code>${code}</code>`));
  text = text.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, label, url) => {
    const href = safeHref(url);
    const inner = renderEmphasis(label);
    return hold(href
      ? `<a href="${href}" target="_blank" rel="noopener noreferrer">${inner}</a>`
      : inner);
  });
  text = renderEmphasis(text);
  return text.replace(/\u0000(\d+)\u0000/g, (_, i) => slots[Number(i)]);
}

function renderEmphasis(text) {
  return text
    .replace(/\*\*([^*]+?)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^\w])__([^_]+?)__(?!\w)/g, "$1<strong>$2</strong>")
    .replace(/(^|[^\w*])\*([^*\s][^*]*?)\*(?![\w*])/g, "$1<em>$2</em>")
    .replace(/(^|[^\w])_([^_\s][^_]*?)_(?!\w)/g, "$1<em>$2</em>");
}

function splitRow(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

function renderMarkdown(source) {
  const lines = escapeHtml(String(source || "").replace(/\u0000/g, "")).split(/\r?\n/);
  const out = [];
  let paragraph = [];
  let list = null; // { tag, items: [] }
  const flushParagraph = () => {
    if (paragraph.length) out.push(`<p>${renderInline(paragraph.join(" "))}</p>`);
    paragraph = [];
  };
  const flushList = () => {
    if (list) {
      const items = list.items.map((item) => `<li>${renderInline(item)}</li>`).join("");
      out.push(`<${list.tag}>${items}</${list.tag}>`);
    }
    list = null;
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    let match;
    if (!line.trim()) { flushParagraph(); flushList(); continue; }
    if ((match = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      flushParagraph(); flushList();
      // Card headings sit under the card title: map # .. ###### to h4 .. h6.
      const level = Math.min(6, 3 + match[1].length);
      out.push(`<h${level}>${renderInline(match[2])}</h${level}>`);
      continue;
    }
    if (/^\s*\|.*\|\s*$/.test(line) && i + 1 < lines.length
        && /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(lines[i + 1])) {
      flushParagraph(); flushList();
      const head = splitRow(line).map((c) => `<th>${renderInline(c)}</th>`).join("");
      const body = [];
      i += 2;
      while (i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i])) {
        body.push(`<tr>${splitRow(lines[i]).map((c) => `<td>${renderInline(c)}</td>`).join("")}</tr>`);
        i += 1;
      }
      i -= 1;
      out.push(`<table><thead><tr>${head}</tr></thead><tbody>${body.join("")}</tbody></table>`);
      continue;
    }
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = bullet ? null : /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (bullet || numbered) {
      flushParagraph();
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tag !== tag) { flushList(); list = { tag, items: [] }; }
      list.items.push((bullet || numbered)[1]);
      continue;
    }
    if (list && /^\s+\S/.test(line)) { // indented continuation of the last item
      list.items[list.items.length - 1] += ` ${line.trim()}`;
      continue;
    }
    flushList();
    paragraph.push(line.trim());
  }
  flushParagraph(); flushList();
  return out.join("");
}

// ---------- card rendering ----------

function renderSource(source) {
  if (!source) return null;
  const label = source.url && /^https?:\/\//i.test(source.url)
    ? el("a", { href: source.url, target: "_blank", rel: "noopener noreferrer" }, source.label)
    : el("span", {}, source.label);
  const topic = source.topic
    ? el("span", { className: "topic", title: source.topic.system || "" },
      source.topic.display ? `${source.topic.display} · ${source.topic.code}` : source.topic.code)
    : null;
  return el("div", { className: "card-source" }, "Source: ", label, topic);
}

function renderAccepted(suggestion) {
  const box = el("details", { className: "accepted", open: true },
    el("summary", {}, `Suggestion: ${suggestion.label}`));
  const actions = suggestion.actions || [];
  if (!actions.length) box.append(el("p", { className: "note" }, "No actions (informational)."));
  const ol = el("ol", {});
  for (const action of actions) {
    const item = el("li", {}, el("strong", {}, `${action.type}: `), action.description || "");
    if (action.resourceId) item.append(el("div", { className: "note" }, `resourceId: ${action.resourceId}`));
    if (action.resource) {
      const type = action.resource.resourceType || "resource";
      item.append(el("details", {}, el("summary", {}, `${type} JSON`),
        el("pre", {}, JSON.stringify(action.resource, null, 2))));
    }
    ol.append(item);
  }
  if (actions.length) box.append(ol);
  return box;
}

function renderSuggestions(card, article) {
  if (!card.suggestions || !card.suggestions.length) return null;
  const row = el("div", { className: "row card-suggestions" });
  const slot = el("div", { className: "accepted-slot" });
  for (const suggestion of card.suggestions) {
    const button = el("button", {
      type: "button",
      className: `suggestion${suggestion.isRecommended ? " recommended" : ""}`,
      "aria-pressed": "false",
      title: suggestion.isRecommended ? "Recommended" : null,
    }, suggestion.label);
    button.addEventListener("click", () => {
      if (button.getAttribute("aria-pressed") === "true") return;
      if (card.selectionBehavior === "at-most-one") {
        row.querySelectorAll(".suggestion").forEach((b) => b.setAttribute("aria-pressed", "false"));
        slot.replaceChildren();
      }
      button.setAttribute("aria-pressed", "true");
      slot.append(renderAccepted(suggestion));
      article.dataset.accepted = suggestion.uuid || suggestion.label;
    });
    row.append(button);
  }
  return [row, slot];
}

function renderLinks(card) {
  if (!card.links || !card.links.length) return null;
  const row = el("div", { className: "row card-links" });
  for (const link of card.links) {
    if (!/^https?:\/\//i.test(link.url || "")) { row.append(el("span", {}, link.label)); continue; }
    const a = el("a", { href: link.url, target: "_blank", rel: "noopener noreferrer" }, link.label);
    row.append(el("span", {}, a, link.type === "smart" ? el("span", { className: "smart-tag" }, "(SMART app)") : null));
  }
  return row;
}

function renderOverride(card, article) {
  if (!card.overrideReasons || !card.overrideReasons.length) return null;
  const select = el("select", { "aria-label": "Dismiss because" },
    el("option", { value: "", selected: true }, "Dismiss because…"));
  card.overrideReasons.forEach((reason, index) => {
    select.append(el("option", { value: String(index), title: `${reason.system}|${reason.code}` }, reason.display));
  });
  const note = el("span", { className: "note" });
  select.addEventListener("change", () => {
    const reason = card.overrideReasons[Number(select.value)];
    article.classList.toggle("dismissed", Boolean(reason));
    // Preview only: no feedback is sent, so trying reasons never snoozes a real card.
    note.textContent = reason ? `Dismissed: ${reason.display} (${reason.code}); feedback not sent in preview` : "";
  });
  return el("div", { className: "row override" }, select, note);
}

function renderCard(card) {
  const indicator = INDICATOR_LABEL[card.indicator] ? card.indicator : "info";
  const article = el("article", { className: "card", "data-indicator": indicator, "data-uuid": card.uuid });
  article.append(el("div", { className: "card-head" },
    el("span", { className: "badge" }, INDICATOR_LABEL[indicator]),
    el("h3", { className: "card-summary" }, card.summary || "")));
  if (card.detail) {
    const detail = el("div", { className: "card-detail" });
    detail.innerHTML = renderMarkdown(card.detail);
    article.append(detail);
  }
  const suggestions = renderSuggestions(card, article);
  if (suggestions) article.append(...suggestions);
  const links = renderLinks(card);
  if (links) article.append(links);
  const override = renderOverride(card, article);
  if (override) article.append(override);
  const source = renderSource(card.source);
  if (source) article.append(source);
  return article;
}

// ---------- request / response ----------

function setStatus(state, text) {
  const status = $("status");
  status.dataset.state = state;
  status.textContent = text;
}

function showError(title, diagnostics) {
  const box = $("error");
  box.replaceChildren(el("strong", {}, title));
  if (diagnostics.length) box.append(el("ul", {}, ...diagnostics.map((d) => el("li", {}, d))));
  box.hidden = false;
}

function outcomeDiagnostics(body) {
  if (!body || body.resourceType !== "OperationOutcome") return [];
  return (body.issue || []).map((issue) =>
    [issue.severity, issue.code, issue.diagnostics].filter(Boolean).join(" · "));
}

function parseRequest() {
  try {
    return { value: JSON.parse($("request").value) };
  } catch (error) {
    return { error: `The request is not valid JSON: ${error.message}` };
  }
}

function chosenService(request) {
  const manual = $("service").value;
  if (manual) return manual;
  return request && typeof request === "object" ? SERVICE_BY_HOOK[request.hook] : undefined;
}

function updateDetected() {
  const parsed = parseRequest();
  const hook = parsed.value && parsed.value.hook;
  $("detected").textContent = $("service").value
    ? "Service chosen manually."
    : hook ? `hook "${hook}" → ${SERVICE_BY_HOOK[hook] || "no matching service"}` : "";
}

async function run() {
  $("error").hidden = true;
  $("cards").replaceChildren();
  $("raw-wrap").hidden = true;
  const parsed = parseRequest();
  if (parsed.error) { setStatus("error", "Not sent"); showError(parsed.error, []); return; }
  const service = chosenService(parsed.value);
  if (!service) {
    setStatus("error", "Not sent");
    showError("Cannot tell which service to call: the request has no known `hook`; pick a service.", []);
    return;
  }
  setStatus("busy", `Calling ${service}…`);
  $("run").disabled = true;
  const started = performance.now();
  try {
    const response = await fetch(`/cds-services/${encodeURIComponent(service)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: $("request").value,
    });
    const ms = Math.round(performance.now() - started);
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch (_) { body = null; }
    $("raw").textContent = body ? JSON.stringify(body, null, 2) : text;
    $("raw-wrap").hidden = false;
    if (!response.ok) {
      setStatus("error", `HTTP ${response.status} · ${ms} ms`);
      const diagnostics = outcomeDiagnostics(body);
      showError(`${service} answered HTTP ${response.status} ${response.statusText}`,
        diagnostics.length ? diagnostics : [text.slice(0, 500)]);
      return;
    }
    const cards = (body && Array.isArray(body.cards)) ? body.cards : [];
    setStatus("ok", `HTTP ${response.status} · ${cards.length} card${cards.length === 1 ? "" : "s"} · ${ms} ms`);
    if (!cards.length) $("cards").append(el("p", { className: "empty" }, "No cards: nothing to show the clinician."));
    for (const card of cards) $("cards").append(renderCard(card));
  } catch (error) {
    setStatus("error", "Network error");
    showError(`The call to ${service} failed: ${error.message}`, []);
  } finally {
    $("run").disabled = false;
  }
}

async function loadFixture(path) {
  const response = await fetch(`/preview/fixtures/${path.split("/").map(encodeURIComponent).join("/")}`);
  if (!response.ok) throw new Error(`fixture ${path}: HTTP ${response.status}`);
  $("request").value = JSON.stringify(await response.json(), null, 2);
  updateDetected();
}

async function loadFixtureList() {
  const response = await fetch("/preview/fixtures");
  const paths = response.ok ? await response.json() : [];
  const groups = new Map();
  for (const path of paths) {
    const folder = path.includes("/") ? path.slice(0, path.indexOf("/")) : ".";
    if (!groups.has(folder)) groups.set(folder, el("optgroup", { label: folder }));
    groups.get(folder).append(el("option", { value: path }, path.slice(folder.length + 1) || path));
  }
  for (const group of groups.values()) $("fixture").append(group);
  return paths;
}

function setUrlFixture(path) {
  const url = new URL(window.location.href);
  if (path) url.searchParams.set("fixture", path); else url.searchParams.delete("fixture");
  window.history.replaceState(null, "", url);
}

async function init() {
  $("run").addEventListener("click", run);
  $("request").addEventListener("input", updateDetected);
  $("service").addEventListener("change", updateDetected);
  $("fixture").addEventListener("change", async () => {
    const path = $("fixture").value;
    setUrlFixture(path);
    if (!path) return;
    try { await loadFixture(path); } catch (error) { showError(error.message, []); }
  });
  const params = new URLSearchParams(window.location.search);
  const service = params.get("service");
  if (service && Object.values(SERVICE_BY_HOOK).includes(service)) $("service").value = service;
  const paths = await loadFixtureList();
  const wanted = params.get("fixture");
  if (!wanted) return;
  if (!paths.includes(wanted)) {
    setStatus("error", "Unknown fixture");
    showError(`No bundled fixture "${wanted}".`, []);
    return;
  }
  $("fixture").value = wanted;
  try {
    await loadFixture(wanted);
    await run();
  } catch (error) {
    setStatus("error", "Fixture not loaded");
    showError(error.message, []);
  }
}

init();
