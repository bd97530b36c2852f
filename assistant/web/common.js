// Shared helpers for the chat page and the triage desk.
// Untrusted text (documents, questions, answers, reports) only ever becomes text nodes.
import { renderRich } from "./richtext.js";

/** Create an element. `props`: text, className, attrs {name: value}, on {event: handler}. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  for (const [name, value] of Object.entries(props.attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const [event, handler] of Object.entries(props.on || {})) {
    node.addEventListener(event, handler);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

const SVG_NS = "http://www.w3.org/2000/svg";
const ICONS = {
  up: "M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 18.7 10H14l.8-4.1A1.6 1.6 0 0 0 13.2 4L9 10v11z",
  down: "M17 14V3h4v11h-4zm-2-11H6.7a2 2 0 0 0-2 1.6l-1.4 7A2 2 0 0 0 5.3 14H10l-.8 4.1a1.6 1.6 0 0 0 1.6 1.9L15 14V3z",
};

/** A small decorative inline SVG icon (hidden from assistive technology). */
export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "icon");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Error with a Dutch message that can be shown to the user as is. */
export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

const SHOW_DETAIL = new Set([400, 401, 403, 404, 409, 413, 422, 429, 503, 504]);

// The CSRF token of the staff session, held in memory only; sent on state-changing requests.
let csrfToken = null;
export function setCsrfToken(token) {
  csrfToken = token || null;
}

function fallbackMessage(status) {
  if (status === 401) return "Log in als medewerker om dit te gebruiken.";
  if (status === 403) return "Dit mag niet. Laad de pagina opnieuw en probeer het nog eens.";
  if (status === 404) return "Dit onderdeel is niet gevonden.";
  if (status === 422) return "De invoer is niet geldig. Controleer uw vraag of melding.";
  if (status === 503) return "De dienst is tijdelijk niet beschikbaar. Probeer het later opnieuw.";
  if (status === 504) return "Het antwoord duurde te lang. Probeer het opnieuw.";
  if (status === 413) return "De invoer is te groot.";
  if (status === 429) return "Er worden te veel vragen tegelijk gesteld. Wacht even en probeer het opnieuw.";
  return `Er ging iets mis op de server (foutcode ${status}). Probeer het later opnieuw.`;
}

/** fetch() + JSON with Dutch error messages; throws ApiError. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, headers: { Accept: "application/json" }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && csrfToken) init.headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(
      "Geen verbinding met de server. Controleer uw internetverbinding en probeer het opnieuw.", 0);
  }
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("application/json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" && data.detail.trim() ? data.detail : "";
    const message = SHOW_DETAIL.has(response.status) && detail ? detail : fallbackMessage(response.status);
    throw new ApiError(message, response.status);
  }
  if (response.status === 204) return null;
  if (data === null) throw new ApiError("Het antwoord van de server is onleesbaar.", response.status);
  return data;
}

/** POST to a server-sent-events route: `onEvent(name, data)` for every event as it arrives.
 * Errors before the stream starts are thrown as by `api`; aborting the signal closes the
 * connection, which stops the generation on the server. */
export async function apiStream(path, { body, signal, onEvent }) {
  const headers = { Accept: "text/event-stream", "Content-Type": "application/json" };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body), signal });
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(
      "Geen verbinding met de server. Controleer uw internetverbinding en probeer het opnieuw.", 0);
  }
  if (!response.ok || !response.body) {
    let detail = "";
    try {
      const data = await response.json();
      detail = data && typeof data.detail === "string" ? data.detail.trim() : "";
    } catch {
      detail = "";
    }
    const message = SHOW_DETAIL.has(response.status) && detail ? detail : fallbackMessage(response.status);
    throw new ApiError(message, response.status);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) !== -1) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

/** Put a message in the page's polite live region (re-announces identical text too). */
export function announce(message) {
  const live = document.getElementById("live");
  if (!live) return;
  live.textContent = "";
  window.setTimeout(() => { live.textContent = message; }, 50);
}

/** Python str offsets count code points; JS strings count UTF-16 units. */
function utf16Offset(text, codePoints) {
  if (!/[\uD800-\uDFFF]/.test(text)) return codePoints;
  let units = 0;
  let seen = 0;
  for (const ch of text) {
    if (seen >= codePoints) break;
    units += ch.length;
    seen += 1;
  }
  return units;
}

/** Locate a citation's quote in the document text as UTF-16 [start, end). */
export function locateQuote(text, citation) {
  const start = utf16Offset(text, citation.start);
  const end = utf16Offset(text, citation.end);
  if (end > start && text.slice(start, end) === citation.quote) return [start, end];
  if (citation.quote) {
    const found = text.indexOf(citation.quote);
    if (found >= 0) return [found, found + citation.quote.length];
  }
  if (end > start && end <= text.length) return [start, end];
  return null;
}

/** The modal that shows a whole document with the cited passage highlighted. */
export class DocumentViewer {
  constructor() {
    this.dialog = document.getElementById("doc-dialog");
    this.title = document.getElementById("doc-title");
    this.section = document.getElementById("doc-section");
    this.body = document.getElementById("doc-body");
    this.cache = new Map();
    this.trigger = null;
    this.request = 0;
    document.getElementById("doc-close").addEventListener("click", () => this.close());
    this.dialog.addEventListener("close", () => this.restoreFocus());
    // A click on the backdrop (outside the dialog box) closes it.
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.close();
    });
  }

  async fetchDocument(docId) {
    if (!this.cache.has(docId)) {
      const promise = api(`/api/documents/${encodeURIComponent(docId)}`);
      this.cache.set(docId, promise);
      promise.catch(() => this.cache.delete(docId));
    }
    return this.cache.get(docId);
  }

  async open(citation, trigger) {
    this.trigger = trigger || document.activeElement;
    const request = ++this.request;
    this.title.textContent = citation.title || citation.doc_id;
    this.section.textContent = citation.section ? `Onderdeel: ${citation.section}` : "";
    this.section.hidden = !citation.section;
    this.body.replaceChildren(el("p", { className: "doc-loading", text: "Document laden…" }));
    this.body.setAttribute("aria-busy", "true");
    if (!this.dialog.open) this.dialog.showModal();
    let documentData;
    try {
      documentData = await this.fetchDocument(citation.doc_id);
    } catch (error) {
      if (request !== this.request) return;
      this.body.removeAttribute("aria-busy");
      this.body.replaceChildren(el("p", { className: "message error", attrs: { role: "alert" },
        text: error instanceof ApiError ? error.message : "Het document kon niet worden geladen." }));
      return;
    }
    if (request !== this.request || !this.dialog.open) return;
    this.title.textContent = documentData.title || citation.title || citation.doc_id;
    const text = String(documentData.text || "");
    const range = locateQuote(text, citation);
    const { fragment, marks } = renderRich(text, { highlight: range, headingTag: "h3" });
    const container = el("div", { className: "doc-text rich" });
    container.append(fragment);
    this.body.replaceChildren(container);
    this.body.removeAttribute("aria-busy");
    const [first] = marks;
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.focus({ preventScroll: true });
      first.scrollIntoView({ block: "center", inline: "nearest" });
    } else {
      this.body.focus({ preventScroll: true });
    }
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  restoreFocus() {
    this.request += 1;
    const trigger = this.trigger;
    this.trigger = null;
    if (trigger && trigger.isConnected && typeof trigger.focus === "function") trigger.focus();
  }
}

export function formatDateTime(iso) {
  if (!iso) return "onbekend";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString("nl-NL", { dateStyle: "medium", timeStyle: "short" });
}

/**
 * A section with a heading whose button shows or hides the body (the disclosure pattern).
 * `label` is the visible heading text, `context` a visually hidden suffix that makes the
 * section's accessible name unique ("bij antwoord 2").
 */
export function disclosure({ label, context = "", count = null, headingLevel = "h4", className = "",
  expanded = true }) {
  const headingId = nextId("section-title");
  const bodyId = nextId("section-body");
  const name = el("span", { attrs: { id: headingId } }, label,
    context ? el("span", { className: "visually-hidden", text: ` ${context}` }) : null);
  const toggle = el("button", {
    className: "disclosure-toggle",
    attrs: { type: "button", "aria-expanded": expanded ? "true" : "false", "aria-controls": bodyId },
  }, el("span", { className: "disclosure-icon", attrs: { "aria-hidden": "true" } }),
  el("span", { className: "disclosure-label" }, name,
    count !== null ? el("span", { className: "disclosure-count", text: ` (${count})` }) : null));
  const body = el("div", { className: "disclosure-body", attrs: { id: bodyId, hidden: !expanded } });
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    body.hidden = !open;
  });
  const section = el("section", { className: `disclosure ${className}`.trim(),
    attrs: { "aria-labelledby": headingId } }, el(headingLevel, { className: "disclosure-heading" }, toggle), body);
  return { section, body, toggle };
}

/** One source card: title, section, the passage with its own lists and emphasis, a link into the document. */
export function sourceCard(citation, viewer, { numbered = true } = {}) {
  const { fragment } = renderRich(citation.quote);
  const open = el("button", {
    className: "link-button",
    attrs: { type: "button" },
    on: { click: (event) => viewer.open(citation, event.currentTarget) },
  }, "Toon in document", el("span", { className: "visually-hidden",
    text: numbered && citation.n ? `: bron ${citation.n}` : `: ${citation.title || citation.doc_id}` }));
  const head = el("p", { className: "source-head" },
    numbered && citation.n ? el("span", { className: "source-n", text: `[${citation.n}]` }) : null,
    numbered && citation.n ? " " : null,
    el("span", { className: "source-title", text: citation.title || citation.doc_id }));
  const quote = el("blockquote", { className: "quote rich" });
  quote.append(fragment);
  return el("li", { className: "source", attrs: { "data-n": citation.n, "data-doc": citation.doc_id } },
    head,
    citation.section ? el("p", { className: "source-section", text: citation.section }) : null,
    quote,
    open);
}

/** A list of citations as cards with a button that opens each one in its document. */
export function citationList(citations, viewer, { headingLevel = "h3", title = "Bronnen", context = "" } = {}) {
  const section = el("section", { className: "sources" });
  const headingId = nextId("sources");
  section.setAttribute("aria-labelledby", headingId);
  section.append(el(headingLevel, { attrs: { id: headingId } }, title,
    context ? el("span", { className: "visually-hidden", text: ` ${context}` }) : null));
  section.append(el("ol", { className: "source-list" }, ...citations.map((c) => sourceCard(c, viewer))));
  return section;
}
