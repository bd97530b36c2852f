// Triage desk: submit a knelpunt, browse the queue, update status and note.
import { $, ApiError, DocumentViewer, announce, api, citationList, el, formatDateTime, nextId } from "./common.js";

const PAGE_SIZE = 10;
const THEMES = [
  ["woningvoorraad", "Woningvoorraad"],
  ["ruimtelijke-samenhang", "Ruimtelijke samenhang"],
  ["sociaal-domein", "Samenhang met het sociaal domein"],
  ["scheiden-wonen-zorg", "Scheiden van wonen en zorg"],
  ["financiering", "Financiering"],
  ["samenwerking-proces", "Samenwerking en proces"],
  ["regelgeving", "Wet- en regelgeving"],
];
const FASES = {
  analyse: "Analyse", visie: "Visie", prestatieafspraken: "Prestatieafspraken",
  uitvoering: "Uitvoering", unknown: "Onbekend",
};
const STATUSES = { nieuw: "Nieuw", "in-behandeling": "In behandeling", afgehandeld: "Afgehandeld" };

const viewer = new DocumentViewer();
const state = { offset: 0, total: 0, filters: { theme: "", status: "", urgent: "" }, selected: null, loading: 0 };

const reportForm = $("#report-form");
const reportInput = $("#report");
const reportError = $("#report-error");
const reportSubmit = $("#report-submit");
const reportStatus = $("#report-status");
const filterForm = $("#filter-form");
const queue = $("#queue");
const queueSummary = $("#queue-summary");
const pageInfo = $("#page-info");
const prevPage = $("#prev-page");
const nextPage = $("#next-page");
const detail = $("#detail");
const detailContent = $("#detail-content");
const detailEmpty = $("#detail-empty");

const themeSelect = $("#filter-theme");
for (const [id, label] of THEMES) themeSelect.append(el("option", { attrs: { value: id }, text: label }));

function formatScore(score) {
  return Number(score).toLocaleString("nl-NL", { maximumFractionDigits: 2 });
}

function statusBadge(status) {
  return el("span", { className: `badge status-${status}`, text: STATUSES[status] || status });
}

function urgentBadge(urgent) {
  return urgent ? el("span", { className: "badge urgent", text: "Urgent" }) : null;
}

function setReportStatus(message, kind = "") {
  reportStatus.hidden = !message;
  reportStatus.className = `status-line ${kind}`.trim();
  reportStatus.textContent = message;
  if (kind === "error") reportStatus.setAttribute("role", "alert");
  else reportStatus.removeAttribute("role");
}

function definition(term, ...value) {
  return [el("dt", { text: term }), el("dd", {}, ...value)];
}

function renderDetail(item, { focus = false } = {}) {
  state.selected = item.id;
  detailEmpty.hidden = true;
  detailContent.hidden = false;
  const themes = item.themes.length
    ? el("ul", { className: "tag-list" }, ...item.themes.map((t) =>
      el("li", { className: "tag", attrs: { title: `Score ${formatScore(t.score)}` } }, t.label,
        el("span", { className: "tag-score", text: ` ${formatScore(t.score)}` }))))
    : el("span", { text: "Geen thema herkend" });
  const facts = el("dl", { className: "facts" },
    ...definition("Status", statusBadge(item.status)),
    ...definition("Urgentie", item.urgent
      ? el("span", { className: "badge urgent", text: "Urgent" })
      : el("span", { text: "Niet urgent" })),
    ...definition("Fase", FASES[item.fase] || item.fase),
    ...definition("Thema's", themes),
    ...definition("Ingediend", formatDateTime(item.created_at)),
    ...definition("Bijgewerkt", formatDateTime(item.updated_at)));

  const parts = [
    el("p", { className: "detail-id" }, "Melding ", el("code", { text: item.id })),
    facts,
    el("h3", { text: "Melding zonder persoonsgegevens" }),
    el("blockquote", { className: "report-text", text: item.redacted_report }),
  ];

  const supportHeading = el("h3", { text: "Passende ondersteuning" });
  parts.push(supportHeading);
  if (item.support.length) {
    parts.push(el("ul", { className: "cards" }, ...item.support.map((s) => el("li", {
      className: `card instrument ${s.fits ? "fits" : "no-fit"}`, attrs: { "data-id": s.id } },
    el("h4", { className: "card-title", text: s.name }),
    el("p", { className: "badges" }, s.fits
      ? el("span", { className: "badge fit-yes", text: "Past bij deze melding" })
      : el("span", { className: "badge fit-no", text: "Past niet" })),
    el("p", { className: "why", text: s.why })))));
  } else {
    parts.push(el("p", { className: "empty", text: "Geen specifieke ondersteuning gevonden." }));
  }

  parts.push(el("h3", { text: "Vergelijkbare vraagstukken" }));
  if (item.similar.length) {
    parts.push(el("ul", { className: "similar-list" }, ...item.similar.map((s) => el("li", {},
      el("p", { className: "similar-title", text: s.title }),
      el("blockquote", { className: "quote", text: s.citation.quote }),
      el("button", { className: "link-button", attrs: { type: "button" },
        on: { click: (event) => viewer.open(s.citation, event.currentTarget) } },
      `Toon in ${s.citation.title || "document"}`)))));
  } else {
    parts.push(el("p", { className: "empty", text: "Geen vergelijkbare vraagstukken gevonden." }));
  }

  if (item.citations.length) parts.push(citationList(item.citations, viewer, { title: "Bronnen" }));

  parts.push(updateForm(item));
  detailContent.replaceChildren(...parts);
  if (focus) detail.focus();
}

function updateForm(item) {
  const statusId = nextId("status");
  const noteId = nextId("note");
  const select = el("select", { attrs: { id: statusId, name: "status" } },
    ...Object.entries(STATUSES).map(([value, label]) =>
      el("option", { attrs: { value, selected: value === item.status }, text: label })));
  const note = el("textarea", { attrs: { id: noteId, name: "note", rows: 3, maxlength: 5000 } });
  note.value = item.note || "";
  const message = el("p", { className: "status-line", attrs: { role: "status" } });
  const button = el("button", { className: "button primary", attrs: { type: "submit" }, text: "Opslaan" });
  const form = el("form", { className: "update-form", attrs: { novalidate: true } },
    el("h3", { text: "Behandeling" }),
    el("div", { className: "field" }, el("label", { attrs: { for: statusId }, text: "Status" }), select),
    el("div", { className: "field" }, el("label", { attrs: { for: noteId }, text: "Notitie" }), note),
    el("div", { className: "form-actions" }, button), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    message.className = "status-line";
    message.textContent = "Opslaan…";
    try {
      const updated = await api(`/api/triage/${encodeURIComponent(item.id)}`, {
        method: "PATCH", body: { status: select.value, note: note.value },
      });
      renderDetail(updated);
      const saved = detailContent.querySelector(".update-form .status-line");
      saved.className = "status-line success";
      saved.textContent = `Opgeslagen: status ${STATUSES[updated.status] || updated.status}.`;
      announce(`Melding opgeslagen met status ${STATUSES[updated.status] || updated.status}.`);
      detailContent.querySelector(".update-form select").focus();
      await loadQueue();
    } catch (error) {
      button.disabled = false;
      message.className = "status-line error";
      message.textContent = error instanceof ApiError ? error.message : "Opslaan is niet gelukt.";
    }
  });
  return form;
}

function queueItem(item) {
  const preview = item.redacted_report.length > 140
    ? `${item.redacted_report.slice(0, 140).trimEnd()}…` : item.redacted_report;
  const button = el("button", {
    className: "queue-button",
    attrs: { type: "button", "data-id": item.id, "aria-current": item.id === state.selected ? "true" : false },
    on: { click: () => { renderDetail(item, { focus: true }); markSelected(); } },
  },
  el("span", { className: "queue-meta" }, statusBadge(item.status), urgentBadge(item.urgent),
    el("span", { className: "queue-date", text: formatDateTime(item.created_at) })),
  el("span", { className: "queue-preview", text: preview }),
  el("span", { className: "queue-themes", text: item.themes.map((t) => t.label).join(" · ") || "Geen thema" }));
  return el("li", {}, button);
}

function markSelected() {
  for (const button of queue.querySelectorAll(".queue-button")) {
    if (button.dataset.id === state.selected) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

async function loadQueue() {
  const request = ++state.loading;
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
  for (const [name, value] of Object.entries(state.filters)) if (value) params.set(name, value);
  queue.setAttribute("aria-busy", "true");
  try {
    const page = await api(`/api/triage?${params}`);
    if (request !== state.loading) return;
    state.total = page.total;
    if (page.items.length === 0 && state.offset > 0 && page.total > 0) {
      state.offset = Math.max(0, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE);
      await loadQueue();
      return;
    }
    queue.replaceChildren(...page.items.map(queueItem));
    if (page.items.length === 0) queue.append(el("li", { className: "empty", text: "Geen meldingen gevonden." }));
    const first = page.total ? state.offset + 1 : 0;
    const last = state.offset + page.items.length;
    queueSummary.textContent = page.total === 1 ? "1 melding" : `${page.total} meldingen`;
    pageInfo.textContent = page.total ? `${first}–${last} van ${page.total}` : "";
    prevPage.disabled = state.offset === 0;
    nextPage.disabled = last >= page.total;
  } catch (error) {
    if (request !== state.loading) return;
    queue.replaceChildren(el("li", { className: "message error", attrs: { role: "alert" },
      text: error instanceof ApiError ? error.message : "De wachtrij kon niet worden geladen." }));
    queueSummary.textContent = "";
  } finally {
    if (request === state.loading) queue.removeAttribute("aria-busy");
  }
}

/** POST /api/triage may answer without the queue fields (status, note, dates): fetch them. */
async function withQueueFields(item) {
  if (item.status && item.created_at) return item;
  try {
    return await api(`/api/triage/${encodeURIComponent(item.id)}`);
  } catch {
    return { status: "nieuw", note: "", created_at: "", updated_at: "", ...item };
  }
}

reportForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const report = reportInput.value;
  if (!report.trim()) {
    reportError.textContent = "Beschrijf eerst het knelpunt.";
    reportError.hidden = false;
    reportInput.setAttribute("aria-invalid", "true");
    reportInput.focus();
    return;
  }
  reportError.hidden = true;
  reportInput.removeAttribute("aria-invalid");
  reportSubmit.disabled = true;
  setReportStatus("Bezig met beoordelen…", "loading");
  announce("Bezig met beoordelen…");
  try {
    const item = await withQueueFields(await api("/api/triage", { method: "POST", body: { report } }));
    reportInput.value = "";
    setReportStatus("De melding is beoordeeld en toegevoegd aan de wachtrij.", "success");
    announce(`Melding beoordeeld. Fase: ${FASES[item.fase] || item.fase}.${item.urgent ? " Urgent." : ""}`);
    state.offset = 0;
    renderDetail(item, { focus: true });
    await loadQueue();
  } catch (error) {
    const message = error instanceof ApiError ? error.message : "De melding kon niet worden beoordeeld.";
    setReportStatus(message, "error");
  } finally {
    reportSubmit.disabled = false;
  }
});

filterForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(filterForm);
  state.filters = { theme: data.get("theme") || "", status: data.get("status") || "", urgent: data.get("urgent") || "" };
  state.offset = 0;
  loadQueue();
});
for (const select of filterForm.querySelectorAll("select")) {
  select.addEventListener("change", () => filterForm.requestSubmit());
}

prevPage.addEventListener("click", () => {
  state.offset = Math.max(0, state.offset - PAGE_SIZE);
  loadQueue();
});
nextPage.addEventListener("click", () => {
  state.offset += PAGE_SIZE;
  loadQueue();
});

loadQueue();
