// Triage desk: submit a knelpunt, browse the queue, update status and note.
// Every label (themes, fases, statuses, support) comes from /api/triage/labels.
// Submitting is public; the queue and changing a report need a staff login (session cookie,
// with the CSRF token from the login kept in memory for writes).
import {
  $, ApiError, DocumentViewer, announce, api, citationList, el, formatDateTime, nextId, setCsrfToken,
} from "./common.js";

const PAGE_SIZE = 10;

const viewer = new DocumentViewer();
const state = {
  offset: 0, total: 0, filters: { theme: "", status: "", urgent: "" }, selected: null, loading: 0, staff: null,
};
const labels = { themes: new Map(), fases: new Map(), statuses: new Map(), support: new Map() };

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
const detailTitle = $("#detail-title");
const detailContent = $("#detail-content");
const detailEmpty = $("#detail-empty");
const labelsError = $("#labels-error");
const loginArea = $("#login-area");
const loginForm = $("#login-form");
const loginName = $("#login-name");
const loginPassword = $("#login-password");
const loginError = $("#login-error");
const loginSubmit = $("#login-submit");
const staffArea = $("#staff-area");
const staffName = $("#staff-name");
const csvLink = $("#csv-link");

/** Show the queue for a logged-in staff member, or the login form. */
function setStaff(session) {
  state.staff = session ? session.name : null;
  setCsrfToken(session ? session.csrf_token : null);
  loginArea.hidden = Boolean(session);
  staffArea.hidden = !session;
  csvLink.hidden = !session;
  staffName.textContent = session ? `Ingelogd als ${session.name}` : "";
  if (!session) {
    queue.replaceChildren();
    queueSummary.textContent = "";
  }
}

async function checkSession() {
  try {
    const session = await api("/api/auth/session");
    setStaff(session.logged_in ? session : null);
    return session.logged_in;
  } catch (error) {
    setStaff(null);
    loginError.hidden = false;
    loginError.textContent = error instanceof ApiError ? error.message : "Inloggen is nu niet mogelijk.";
    return false;
  }
}

/** A 401 while working means the session ended: back to the login form. */
function sessionEnded(error) {
  if (error instanceof ApiError && error.status === 401 && state.staff) {
    setStaff(null);
    loginError.hidden = false;
    loginError.textContent = "Uw sessie is verlopen. Log opnieuw in.";
    return true;
  }
  return false;
}

function label(kind, id) {
  const entry = labels[kind].get(id);
  return entry ? entry.label : id;
}

async function loadLabels() {
  try {
    const data = await api("/api/triage/labels");
    for (const kind of Object.keys(labels)) {
      labels[kind] = new Map((data[kind] || []).map((entry) => [entry.id, entry]));
    }
    const themeSelect = $("#filter-theme");
    for (const theme of labels.themes.values()) {
      themeSelect.append(el("option", { attrs: { value: theme.id }, text: theme.label }));
    }
    const statusSelect = $("#filter-status");
    for (const status of labels.statuses.values()) {
      statusSelect.append(el("option", { attrs: { value: status.id }, text: status.label }));
    }
  } catch (error) {
    labelsError.hidden = false;
    labelsError.textContent = error instanceof ApiError
      ? `De labels konden niet worden geladen: ${error.message}`
      : "De labels konden niet worden geladen.";
  }
}

function statusBadge(status) {
  return el("span", { className: `badge status-${status}`, text: label("statuses", status) });
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

function readableId(item) {
  return item.short_id || item.id;
}

/** "woningverlies" → "Woningverlies": the signal id as words. */
function signalText(signal) {
  const words = String(signal || "").replace(/[-_]+/g, " ").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : "Signaal";
}

function themeList(themes) {
  if (!themes.length) return el("p", { className: "empty", text: "Geen thema herkend." });
  return el("ul", { className: "theme-list" }, ...themes.map((theme) => el("li", { attrs: { "data-id": theme.id } },
    el("span", { className: "tag", text: theme.label || label("themes", theme.id) }),
    theme.reason ? el("p", { className: "theme-reason", text: theme.reason }) : null)));
}

function urgency(item) {
  if (!item.urgent) return null;
  const reasons = item.urgency_reasons || [];
  const headingId = nextId("urgency");
  return el("section", { className: "urgency", attrs: { "aria-labelledby": headingId } },
    el("h3", { attrs: { id: headingId } }, "Waarom urgent"),
    reasons.length
      ? el("ul", { className: "urgency-list" }, ...reasons.map((reason) => el("li", {},
        el("span", { className: "urgency-signal", text: `${signalText(reason.signal)}: ` }),
        el("q", { className: "urgency-quote", text: reason.quote }))))
      : el("p", { text: "De melding beschrijft een acuut risico voor een bewoner." }));
}

function renderDetail(item, { focus = false } = {}) {
  state.selected = item.id;
  detailEmpty.hidden = true;
  detailContent.hidden = false;
  detailTitle.textContent = `Melding ${readableId(item)}`;
  const parts = [
    el("p", { className: "detail-summary" },
      statusBadge(item.status), " ", urgentBadge(item.urgent), " ",
      el("span", { className: "detail-date", text: `Ingediend ${formatDateTime(item.created_at)}` })),
    state.staff ? updateForm(item) : el("p", { className: "hint", text: "Log in om de status of notitie te wijzigen." }),
    urgency(item),
    el("dl", { className: "facts" },
      ...definition("Fase", label("fases", item.fase)),
      ...definition("Ingediend", formatDateTime(item.created_at)),
      ...definition("Bijgewerkt", formatDateTime(item.updated_at))),
    el("h3", { text: "Thema's" }),
    themeList(item.themes),
    el("h3", { text: "Melding zonder persoonsgegevens" }),
    el("blockquote", { className: "report-text", text: item.redacted_report }),
  ];

  parts.push(el("h3", { text: "Passende ondersteuning" }));
  if (item.support.length) {
    parts.push(el("ul", { className: "cards" }, ...item.support.map((s) => el("li", {
      className: `card instrument ${s.fits ? "fits" : "no-fit"}`, attrs: { "data-id": s.id } },
    el("h4", { className: "card-title", text: s.name || label("support", s.id) }),
    el("p", { className: "badges" }, s.fits
      ? el("span", { className: "badge fit-yes", text: "Past bij deze melding" })
      : el("span", { className: "badge fit-no", text: "Past niet bij deze melding" })),
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

  if (item.citations.length) {
    parts.push(citationList(item.citations, viewer, { title: "Bronnen", context: `bij melding ${readableId(item)}` }));
  }
  detailContent.replaceChildren(...parts.filter(Boolean));
  if (focus) detail.focus();
}

/** Status and note first in the panel: that is what the helpdesk changes most. */
function updateForm(item) {
  const statusId = nextId("status");
  const noteId = nextId("note");
  const titleId = nextId("handling");
  const statuses = labels.statuses.size ? [...labels.statuses.values()] : [{ id: item.status, label: item.status }];
  const select = el("select", { attrs: { id: statusId, name: "status" } },
    ...statuses.map((status) =>
      el("option", { attrs: { value: status.id, selected: status.id === item.status }, text: status.label })));
  const note = el("textarea", { attrs: { id: noteId, name: "note", rows: 1, maxlength: 5000 } });
  note.value = item.note || "";
  const message = el("p", { className: "status-line", attrs: { role: "status" } });
  const button = el("button", { className: "button primary", attrs: { type: "submit" }, text: "Opslaan" });
  const form = el("form", { className: "update-form", attrs: { novalidate: true, "aria-labelledby": titleId } },
    el("h3", { attrs: { id: titleId }, text: "Behandeling" }),
    el("div", { className: "update-row" },
      el("div", { className: "field" }, el("label", { attrs: { for: statusId }, text: "Status" }), select),
      el("div", { className: "field field-grow" }, el("label", { attrs: { for: noteId }, text: "Notitie" }), note),
      el("div", { className: "field field-button" }, button)),
    message);
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
      saved.textContent = `Opgeslagen: status ${label("statuses", updated.status)}.`;
      announce(`Melding ${readableId(updated)} opgeslagen met status ${label("statuses", updated.status)}.`);
      detailContent.querySelector(".update-form select").focus();
      await loadQueue();
    } catch (error) {
      button.disabled = false;
      if (sessionEnded(error)) return;
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
  el("span", { className: "queue-meta" },
    el("span", { className: "queue-id", text: readableId(item) }), statusBadge(item.status), urgentBadge(item.urgent),
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
  if (!state.staff) return;
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
    if (sessionEnded(error)) return;
    queue.replaceChildren(el("li", { className: "message error", attrs: { role: "alert" },
      text: error instanceof ApiError ? error.message : "De wachtrij kon niet worden geladen." }));
    queueSummary.textContent = "";
  } finally {
    if (request === state.loading) queue.removeAttribute("aria-busy");
  }
}

/** POST /api/triage may answer without the queue fields (status, note, dates): fetch them. */
async function withQueueFields(item) {
  if ((item.status && item.created_at) || !state.staff) {
    return { status: "nieuw", note: "", created_at: "", updated_at: "", ...item };
  }
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
    announce(`Melding ${readableId(item)} beoordeeld. Fase: ${label("fases", item.fase)}.${item.urgent ? " Urgent." : ""}`);
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

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = loginName.value.trim();
  const password = loginPassword.value;
  if (!name || !password) {
    loginError.hidden = false;
    loginError.textContent = "Vul uw naam en wachtwoord in.";
    (name ? loginPassword : loginName).focus();
    return;
  }
  loginError.hidden = true;
  loginSubmit.disabled = true;
  try {
    const session = await api("/api/auth/login", { method: "POST", body: { name, password } });
    loginPassword.value = "";
    setStaff(session);
    announce(`Ingelogd als ${session.name}.`);
    state.offset = 0;
    await loadQueue();
  } catch (error) {
    loginError.hidden = false;
    loginError.textContent = error instanceof ApiError ? error.message : "Inloggen is niet gelukt.";
    loginPassword.focus();
  } finally {
    loginSubmit.disabled = false;
  }
});

$("#logout").addEventListener("click", async () => {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch {
    // the session is gone either way; the page forgets it too
  }
  setStaff(null);
  if (state.selected) detailContent.querySelector(".update-form")?.remove();
  announce("U bent uitgelogd.");
  loginName.focus();
});

loadLabels().then(checkSession).then((loggedIn) => (loggedIn ? loadQueue() : null));
