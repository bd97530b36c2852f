// Chat page: questions with follow-ups, cited answers, instruments, copy and feedback.
// Conversations are kept in this browser's localStorage only; nothing about them is sent
// anywhere except the question itself (and the earlier turns) to /api/ask.
import { $, ApiError, DocumentViewer, announce, api, apiStream, disclosure, el, icon, nextId, sourceCard } from "./common.js";
import { plainText, renderInline, renderSegment } from "./richtext.js";

const MAX_HISTORY = 20;
const TOP_K = 5;
const STORE_KEY = "woonzorgwijzer.gesprekken.v1";
const MAX_SAVED = 10;
const UNDO_MS = 10_000;
const narrowScreen = window.matchMedia("(max-width: 40rem)");
const touchScreen = window.matchMedia("(hover: none), (pointer: coarse)");

const form = $("#ask-form");
const input = $("#question");
const askButton = $("#ask-button");
const fieldError = $("#question-error");
const askStatus = $("#ask-status");
const hint = $("#question-hint");
const conversationList = $("#conversation");
const bar = $("#conversation-bar");
const newButton = $("#new-conversation");
const savedBox = $("#saved");
const savedCount = $("#saved-count");
const savedList = $("#saved-list");
const clearButton = $("#clear-saved");
const toast = $("#toast");
const toastText = $("#toast-text");
const undoButton = $("#toast-undo");
const intro = $("#intro");
const dock = $("#dock");
const viewer = new DocumentViewer();
// With a generator configured the answer is streamed: sources first, written sentences after.
const writing = api("/healthz").then((health) => Boolean(health && health.generator
  && health.generator !== "extractive")).catch(() => false);

const state = {
  conversation: freshConversation(),
  saved: [],
  busy: false,
  controller: null,
  undo: null,
  toastTimer: 0,
};

function freshConversation() {
  return { id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    started: new Date().toISOString(), turns: [] };
}

// --- storage ---------------------------------------------------------------------------------

function validConversation(value) {
  return value && typeof value === "object" && Array.isArray(value.turns)
    && value.turns.every((t) => t && typeof t.question === "string" && t.response
      && typeof t.response.answer === "string" && Array.isArray(t.response.citations));
}

function load() {
  try {
    const data = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null");
    if (!data) return;
    if (validConversation(data.current)) state.conversation = data.current;
    if (Array.isArray(data.saved)) state.saved = data.saved.filter(validConversation).slice(0, MAX_SAVED);
  } catch {
    // Unreadable or unavailable storage: start empty.
  }
}

function persist() {
  const write = () => window.localStorage.setItem(STORE_KEY, JSON.stringify({
    current: state.conversation, saved: state.saved }));
  try {
    if (!state.conversation.turns.length && !state.saved.length) {
      window.localStorage.removeItem(STORE_KEY);
      return;
    }
    write();
  } catch {
    // Full storage: drop the oldest saved conversations until it fits.
    while (state.saved.length) {
      state.saved.pop();
      try {
        write();
        return;
      } catch {
        // keep dropping
      }
    }
  }
}

function historyOf(conversation) {
  const history = [];
  for (const turn of conversation.turns) {
    history.push({ role: "user", content: turn.question }, { role: "assistant", content: turn.response.answer });
  }
  return history.slice(-MAX_HISTORY);
}

// --- small pieces ----------------------------------------------------------------------------

function showFieldError(message) {
  fieldError.textContent = message;
  fieldError.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function setBusy(busy) {
  state.busy = busy;
  askButton.setAttribute("aria-disabled", busy ? "true" : "false");
  askButton.textContent = busy ? "Bezig…" : "Vraag stellen";
  form.setAttribute("aria-busy", busy ? "true" : "false");
  if (!busy) askStatus.textContent = "";
}

function citationMarker(citation) {
  return el("button", {
    className: "cite-marker",
    attrs: { type: "button", "data-n": citation.n,
      title: citation.section ? `${citation.title} — ${citation.section}` : citation.title },
    on: { click: (event) => viewer.open(citation, event.currentTarget) },
  }, el("span", { className: "marker-pill", text: `[${citation.n}]` }),
  el("span", { className: "visually-hidden", text: ` bron ${citation.n} tonen in ${citation.title}` }));
}

function markerOrText(n, byNumber) {
  const citation = byNumber.get(Number(n));
  return citation ? citationMarker(citation) : document.createTextNode(`[${n}]`);
}

/** The answer in reading order from its segments: sentences as text, lists as lists, table rows as a table. */
function segmentBody(segments, byNumber) {
  const body = el("div", { className: "answer-text" });
  let paragraph = null;
  let paragraphSource = null;
  let list = null;
  let listGroup;
  let table = null;
  for (const segment of segments) {
    if (segment.kind === "list-item") {
      paragraph = null;
      table = null;
      if (!list || segment.group !== listGroup) {
        list = el("ul", { className: "answer-list" });
        listGroup = segment.group;
        body.append(list);
      }
      list.append(el("li", {}, renderSegment(segment.quote, segment.text), " ", markerOrText(segment.n, byNumber)));
    } else if (segment.kind === "table-row") {
      paragraph = null;
      list = null;
      if (!table) {
        table = el("tbody");
        body.append(el("div", { className: "rich-table-wrap" }, el("table", { className: "rich-table" }, table)));
      }
      const cells = (segment.quote || segment.text).split("\t").map((c) => c.trim());
      const row = el("tr");
      cells.forEach((cell, index) => {
        const node = index === 0 ? el("th", { attrs: { scope: "row" } }) : el("td");
        node.append(renderInline(cell));
        if (index === cells.length - 1) node.append(" ", markerOrText(segment.n, byNumber));
        row.append(node);
      });
      table.append(row);
    } else {
      list = null;
      table = null;
      if (!paragraph || paragraphSource !== segment.n) {
        paragraph = el("p");
        paragraphSource = segment.n;
        body.append(paragraph);
      } else {
        paragraph.append(" ");
      }
      paragraph.append(renderSegment(segment.quote, segment.text), " ", markerOrText(segment.n, byNumber));
    }
  }
  return body;
}

/** Fallback for answers without segments: the answer text with every "[n]" as a marker. */
function markedText(text, byNumber) {
  const paragraph = el("p");
  const marker = /\[(\d+)\]/g;
  let last = 0;
  let match;
  while ((match = marker.exec(text)) !== null) {
    if (!byNumber.has(Number(match[1]))) continue;
    paragraph.append(renderInline(text.slice(last, match.index)), markerOrText(match[1], byNumber));
    last = marker.lastIndex;
  }
  paragraph.append(renderInline(text.slice(last)));
  return el("div", { className: "answer-text" }, paragraph);
}

function conflictSection(conflicts, byNumber, context) {
  const headingId = nextId("conflicts");
  return el("section", { className: "conflicts", attrs: { "aria-labelledby": headingId } },
    el("h4", { attrs: { id: headingId } }, "Bronnen noemen verschillende waarden",
      el("span", { className: "visually-hidden", text: ` ${context}` })),
    el("p", { className: "conflict-hint", text: "Controleer in de bron welke waarde voor uw vraag geldt." }),
    el("ul", { className: "conflict-list" }, ...conflicts.map((conflict) => el("li", {},
      el("span", { className: "conflict-about", text: conflict.about }),
      el("ul", { className: "conflict-values" }, ...conflict.values.map((value) =>
        el("li", {}, el("span", { className: "conflict-value", text: value.value }), " ",
          markerOrText(value.n, byNumber))))))));
}

function instrumentCards(instruments) {
  const list = el("ul", { className: "cards" });
  for (const instrument of instruments) {
    const fit = instrument.fits
      ? el("span", { className: "badge fit-yes", text: "Past bij de beschreven situatie" })
      : el("span", { className: "badge fit-no", text: "Past niet bij de beschreven situatie" });
    const card = el("li", { className: `card instrument ${instrument.fits ? "fits" : "no-fit"}`,
      attrs: { "data-id": instrument.id } },
    el("h5", { className: "card-title", text: instrument.name }),
    el("p", { className: "badges" },
      instrument.kind ? el("span", { className: "badge kind", text: instrument.kind }) : null, fit),
    el("p", { className: "why" },
      el("span", { className: "why-label", text: instrument.fits ? "Waarom: " : "Reden: " }),
      instrument.why));
    if (instrument.source) {
      const source = instrument.source;
      card.append(el("button", {
        className: "quote-button",
        attrs: { type: "button" },
        on: { click: (event) => viewer.open(source, event.currentTarget) },
      },
      el("span", { className: "quote-text", text: `“${plainText(source.quote)}”` }),
      el("span", { className: "quote-source", text: `${source.title} — toon in document` })));
    }
    list.append(card);
  }
  return list;
}

function isRefusal(response) {
  return Boolean(response.refusal) || !response.answerable;
}

function refusalText(response) {
  return (response.refusal && response.refusal.message) || response.answer;
}

function citedSources(response) {
  return response.citations.filter((c) => c.cited !== false);
}

/** Plain text for a memo: the answer as read on screen, then only the sources it cites. */
function copyText(response) {
  if (isRefusal(response)) return refusalText(response).trim();
  const lines = [];
  const segments = response.segments || [];
  if (segments.length) {
    let sentence = [];
    let source = null;
    const flush = () => { if (sentence.length) lines.push(sentence.join(" ")); sentence = []; };
    for (const segment of segments) {
      const text = `${plainText(segment.text).replace(/\s*\n\s*/g, " ")} [${segment.n}]`;
      if (segment.kind === "list-item") {
        flush();
        lines.push(`- ${text}`);
      } else if (segment.kind === "table-row") {
        flush();
        lines.push(text.split("\t").map((c) => c.trim()).join(" | "));
      } else {
        if (source !== segment.n) flush();
        sentence.push(text);
      }
      source = segment.n;
    }
    flush();
  } else {
    lines.push(plainText(response.answer));
  }
  const cited = citedSources(response);
  if (cited.length) {
    lines.push("", "Bronnen:");
    for (const c of cited) {
      const where = c.section ? `${c.title} — ${c.section}` : c.title;
      lines.push(`[${c.n}] ${where}: "${plainText(c.quote)}"`);
    }
  }
  return lines.join("\n");
}

function copyControls(response) {
  const wrap = el("div", { className: "copy" });
  const message = el("div", { className: "copy-status", attrs: { role: "status" } });
  const withSources = !isRefusal(response) && citedSources(response).length > 0;
  const button = el("button", {
    className: "button secondary small",
    attrs: { type: "button" },
    on: {
      click: async () => {
        const text = copyText(response);
        message.replaceChildren();
        try {
          if (!navigator.clipboard || !window.isSecureContext) throw new Error("geen klembord");
          await navigator.clipboard.writeText(text);
          message.textContent = withSources
            ? "Het antwoord met bronnen is gekopieerd." : "Het antwoord is gekopieerd.";
        } catch {
          const id = nextId("copy-text");
          const area = el("textarea", { className: "copy-fallback", attrs: { id, readonly: true, rows: 6 } });
          area.value = text;
          message.append(
            el("label", { attrs: { for: id },
              text: "Kopiëren lukte niet automatisch. Selecteer de tekst hieronder en kopieer die zelf (Ctrl+C)." }),
            area);
          area.focus();
          area.select();
        }
      },
    },
  }, withSources ? "Kopieer antwoord met bronnen" : "Kopieer antwoord");
  wrap.append(button, message);
  return wrap;
}

const RATING_LABELS = { up: "Nuttig", down: "Niet nuttig" };

/** Nuttig / Niet nuttig: the choice stays changeable and the pressed button keeps focus. */
function feedbackControls(turn) {
  const reasonId = nextId("reason");
  const box = el("div", { className: "feedback" });
  const status = el("p", { className: "feedback-status", attrs: { role: "status" } });
  const reason = el("input", { attrs: { id: reasonId, type: "text", maxlength: 2000, autocomplete: "off" } });
  reason.value = turn.reason || "";
  const buttons = new Map();
  let sending = false;
  const press = (rating) => {
    for (const [value, button] of buttons) button.setAttribute("aria-pressed", value === rating ? "true" : "false");
  };
  const send = async (rating) => {
    const text = reason.value.trim();
    if (sending || (turn.rating === rating && (turn.reason || "") === text)) return;
    sending = true;
    const previous = { rating: turn.rating, id: turn.feedbackId };
    press(rating);
    status.className = "feedback-status";
    status.textContent = "Feedback versturen…";
    try {
      const saved = await api("/api/feedback", { method: "POST", body: {
        rating, reason: text, question: turn.question, answer: turn.response.answer,
        citations: turn.response.citations, replaces: previous.id || undefined,
      } });
      turn.rating = rating;
      turn.reason = text;
      turn.feedbackId = saved.id;
      persist();
      status.textContent = previous.rating && previous.rating !== rating
        ? `Uw beoordeling is gewijzigd in ‘${RATING_LABELS[rating]}’.`
        : "Bedankt voor uw feedback";
    } catch (error) {
      press(previous.rating);
      status.className = "feedback-status error";
      status.textContent = error instanceof ApiError ? error.message : "De feedback kon niet worden verstuurd.";
    } finally {
      sending = false;
    }
  };
  for (const rating of ["up", "down"]) {
    const button = el("button", {
      className: `button thumb thumb-${rating}`,
      attrs: { type: "button", "aria-pressed": turn.rating === rating ? "true" : "false", "data-rating": rating },
    }, icon(rating), RATING_LABELS[rating]);
    button.addEventListener("click", () => send(rating));
    buttons.set(rating, button);
  }
  box.append(el("fieldset", {},
    el("legend", { text: "Was dit antwoord nuttig?" }),
    el("div", { className: "feedback-row" },
      el("div", { className: "field reason-field" },
        el("label", { attrs: { for: reasonId }, text: "Toelichting (optioneel)" }), reason),
      el("div", { className: "thumbs" }, ...buttons.values()))), status);
  return box;
}

function answerHeading(article, number) {
  const id = nextId("answer-title");
  article.setAttribute("aria-labelledby", id);
  return el("h3", { className: "answer-heading", attrs: { id, tabindex: "-1" }, text: `Antwoord ${number}` });
}

function renderAnswer(article, number, turn) {
  const { response } = turn;
  const context = `bij antwoord ${number}`;
  const collapsed = narrowScreen.matches;
  article.removeAttribute("aria-busy");
  article.replaceChildren();
  const heading = answerHeading(article, number);
  if (isRefusal(response)) {
    article.className = "answer refusal";
    article.append(heading, el("p", { className: "answer-text refusal-text", text: refusalText(response) }));
  } else {
    article.className = "answer";
    const byNumber = new Map(response.citations.map((c) => [Number(c.n), c]));
    const segments = response.segments || [];
    const quoted = segments.length ? segmentBody(segments, byNumber) : markedText(response.answer, byNumber);
    if (response.generator && response.generator !== "extractive") {
      // a written answer, every sentence checked against its sources; the quotes follow it
      article.append(heading, el("p", { className: "written-label", text: "Samengevat (elke zin gecontroleerd tegen de bron)" }),
        markedText(response.answer, byNumber),
        el("p", { className: "written-label", text: "Letterlijk uit de bronnen" }), quoted);
    } else {
      article.append(heading, quoted);
    }
    if (response.conflicts && response.conflicts.length) {
      article.append(conflictSection(response.conflicts, byNumber, context));
    }
    const cited = citedSources(response);
    const others = response.citations.filter((c) => c.cited === false);
    if (cited.length || others.length) {
      const { section, body } = disclosure({ label: "Bronnen", context, count: cited.length,
        className: "sources", expanded: !collapsed });
      if (cited.length) body.append(el("ol", { className: "source-list" }, ...cited.map((c) => sourceCard(c, viewer))));
      if (others.length) {
        body.append(el("details", { className: "also-found" },
          el("summary", {}, `Ook gevonden (${others.length})`,
            el("span", { className: "visually-hidden", text: ` ${context}` })),
          el("p", { className: "also-found-hint",
            text: "Deze passages kwamen bij het zoeken naar boven, maar het antwoord gebruikt ze niet." }),
          el("ul", { className: "source-list" }, ...others.map((c) => sourceCard(c, viewer, { numbered: false })))));
      }
      article.append(section);
    }
    if (response.instruments && response.instruments.length) {
      const { section, body } = disclosure({ label: "Instrumenten en ondersteuning", context,
        count: response.instruments.length, className: "instruments", expanded: !collapsed });
      body.append(instrumentCards(response.instruments));
      article.append(section);
    }
  }
  article.append(el("div", { className: "answer-actions" }, copyControls(response), feedbackControls(turn)));
  return heading;
}

function renderError(article, number, message) {
  article.className = "answer error";
  article.removeAttribute("aria-busy");
  article.replaceChildren(answerHeading(article, number),
    el("p", { className: "answer-text", attrs: { role: "alert" }, text: message }));
}

function turnElement(number, question) {
  const item = el("li", { className: "turn", attrs: { "data-turn": number } },
    el("div", { className: "question" },
      el("p", { className: "who", text: `Vraag ${number}` }),
      el("p", { className: "question-text", text: question })));
  const article = el("article", { className: "answer" });
  item.append(article);
  return { item, article };
}

function renderConversation() {
  conversationList.replaceChildren();
  state.conversation.turns.forEach((turn, index) => {
    const { item, article } = turnElement(index + 1, turn.question);
    conversationList.append(item);
    renderAnswer(article, index + 1, turn);
  });
  updateChrome();
}

function updateChrome() {
  const hasTurns = conversationList.children.length > 0;
  intro.classList.toggle("compact", hasTurns);
  $("#examples").hidden = hasTurns;
  newButton.hidden = !hasTurns;
  bar.hidden = !hasTurns && state.saved.length === 0;
  savedBox.hidden = state.saved.length === 0;
  savedCount.textContent = String(state.saved.length);
  savedList.replaceChildren(...state.saved.map((conversation) => {
    const first = conversation.turns[0] ? conversation.turns[0].question : "";
    const title = first.length > 80 ? `${first.slice(0, 80).trimEnd()}…` : first;
    const when = new Date(conversation.started);
    const date = Number.isNaN(when.getTime()) ? ""
      : when.toLocaleString("nl-NL", { dateStyle: "medium", timeStyle: "short" });
    return el("li", {}, el("button", {
      className: "link-button saved-open",
      attrs: { type: "button", "data-id": conversation.id },
      on: { click: () => openSaved(conversation.id) },
    }, el("span", { className: "saved-title", text: title || "Gesprek zonder vragen" }),
    el("span", { className: "saved-meta",
      text: `${date}${date ? " · " : ""}${conversation.turns.length === 1 ? "1 vraag" : `${conversation.turns.length} vragen`}` })));
  }));
}

// --- toast with undo -------------------------------------------------------------------------

function hideToast() {
  window.clearTimeout(state.toastTimer);
  toast.hidden = true;
  toastText.textContent = "";
  state.undo = null;
}

function armToastTimer() {
  window.clearTimeout(state.toastTimer);
  state.toastTimer = window.setTimeout(hideToast, UNDO_MS);
}

function showToast(message, undo) {
  state.undo = undo;
  toast.hidden = false;
  toastText.textContent = message;
  armToastTimer();
}

// While focus or the pointer is on the notice it stays, so there is time to reach "Ongedaan maken".
toast.addEventListener("focusin", () => window.clearTimeout(state.toastTimer));
toast.addEventListener("focusout", () => { if (!toast.hidden) armToastTimer(); });
toast.addEventListener("pointerenter", () => window.clearTimeout(state.toastTimer));
toast.addEventListener("pointerleave", () => { if (!toast.hidden && !toast.contains(document.activeElement)) armToastTimer(); });
undoButton.addEventListener("click", () => {
  const undo = state.undo;
  hideToast();
  if (undo) undo();
  input.focus();
});

function snapshot() {
  return { conversation: state.conversation, saved: [...state.saved] };
}

function restore(previous, message) {
  cancelPending();
  state.conversation = previous.conversation;
  state.saved = previous.saved;
  persist();
  renderConversation();
  announce(message);
}

function cancelPending() {
  if (state.controller) state.controller.abort();
  state.controller = null;
}

function startNewConversation() {
  const previous = snapshot();
  cancelPending();
  if (state.conversation.turns.length) state.saved = [state.conversation, ...state.saved].slice(0, MAX_SAVED);
  state.conversation = freshConversation();
  persist();
  renderConversation();
  showFieldError("");
  showToast("Nieuw gesprek gestart. Het vorige gesprek staat onder ‘Bewaarde gesprekken’.",
    () => restore(previous, "Het vorige gesprek is teruggezet."));
  announce("Nieuw gesprek gestart. Ongedaan maken kan tien seconden lang.");
  input.focus();
}

function clearStored() {
  const previous = snapshot();
  cancelPending();
  state.conversation = freshConversation();
  state.saved = [];
  persist();
  renderConversation();
  showToast("Alle gesprekken zijn uit deze browser gewist.",
    () => restore(previous, "De gesprekken zijn teruggezet."));
  announce("Alle gesprekken zijn uit deze browser gewist. Ongedaan maken kan tien seconden lang.");
  input.focus();
}

function openSaved(id) {
  const chosen = state.saved.find((c) => c.id === id);
  if (!chosen) return;
  cancelPending();
  const rest = state.saved.filter((c) => c.id !== id);
  state.saved = state.conversation.turns.length ? [state.conversation, ...rest].slice(0, MAX_SAVED) : rest;
  state.conversation = chosen;
  persist();
  renderConversation();
  savedBox.open = false;
  const last = conversationList.lastElementChild;
  const heading = last && last.querySelector(".answer-heading");
  announce(`Bewaard gesprek geopend: ${chosen.turns.length === 1 ? "1 vraag" : `${chosen.turns.length} vragen`}.`);
  if (heading) {
    heading.focus({ preventScroll: true });
    last.scrollIntoView({ block: "start" });
  }
}

// --- asking ----------------------------------------------------------------------------------

async function ask(question) {
  if (state.busy) {
    const message = "Het antwoord op uw vorige vraag is onderweg. Een moment geduld.";
    askStatus.textContent = message;
    announce(message);
    return;
  }
  const trimmed = question.trim();
  if (!trimmed) {
    showFieldError("Typ eerst een vraag over wonen en zorg.");
    input.focus();
    return;
  }
  showFieldError("");
  hideToast();
  const conversation = state.conversation;
  const history = historyOf(conversation);
  const number = conversationList.children.length + 1;
  const { item, article } = turnElement(number, question);
  const elapsed = el("span", { className: "elapsed", text: "0 s" });
  const controller = new AbortController();
  article.className = "answer pending";
  article.setAttribute("aria-busy", "true");
  article.append(answerHeading(article, number),
    el("p", { className: "loading" }, el("span", { className: "spinner", attrs: { "aria-hidden": "true" } }),
      "Bezig met zoeken in de handreikingen… ", elapsed),
    el("button", { className: "button secondary small cancel-button", attrs: { type: "button" },
      on: { click: () => controller.abort() } }, "Annuleren",
    el("span", { className: "visually-hidden", text: ` vraag ${number}` })));
  conversationList.append(item);
  updateChrome();
  input.value = "";
  state.controller = controller;
  setBusy(true);
  announce("Bezig met zoeken…");
  item.scrollIntoView({ block: "nearest" });
  const started = performance.now();
  const ticker = window.setInterval(() => {
    elapsed.textContent = `${Math.floor((performance.now() - started) / 1000)} s`;
  }, 1000);
  let response = null;
  const finish = (done) => {
    const turn = { question, response: done, rating: null, reason: "", feedbackId: null };
    conversation.turns.push(turn);
    persist();
    const heading = renderAnswer(article, number, turn);
    announce(isRefusal(done)
      ? `Antwoord ${number}: ${refusalText(done)}`
      : `Antwoord ${number} is binnen, met ${citedSources(done).length === 1 ? "1 bron" : `${citedSources(done).length} bronnen`}.`);
    heading.focus({ preventScroll: true });
    item.scrollIntoView({ block: "start", behavior: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
  };
  try {
    if (!(await writing)) {
      response = await api("/api/ask", { method: "POST", signal: controller.signal,
        body: { question, history, top_k: TOP_K } });
      if (conversation !== state.conversation) return;
      finish(response);
      return;
    }
    let written = null;
    await apiStream("/api/ask/stream", { signal: controller.signal,
      body: { question, history, top_k: TOP_K },
      onEvent: (name, data) => {
        if (conversation !== state.conversation) return;
        if (name === "evidence") {
          // the sources at once; a written answer may grow beneath them
          response = data;
          renderAnswer(article, number, { question, response, rating: null, reason: "", feedbackId: null });
          article.setAttribute("aria-busy", "true");
          if (!isRefusal(data) && data.writing) {
            written = el("div", { className: "written-answer", attrs: { "aria-live": "polite" } });
            article.append(written, el("button", { className: "button secondary small cancel-button",
              attrs: { type: "button" }, on: { click: () => controller.abort() } }, "Stoppen",
              el("span", { className: "visually-hidden", text: ` met schrijven bij antwoord ${number}` })));
          }
        } else if (name === "sentence" && written) {
          const byNumber = new Map(response.citations.map((c) => [Number(c.n), c]));
          written.append(markedText(data.text, byNumber));
        } else if (name === "final") {
          response = data;
        } else if (name === "error") {
          announce(data.detail);
        }
      } });
    if (conversation !== state.conversation || response === null) return;
    finish(response);
  } catch (error) {
    if (error && error.name === "AbortError" && response !== null) {
      if (conversation === state.conversation) finish(response);  // stopped while writing
      return;
    }
    if (error && error.name === "AbortError") {
      item.remove();
      updateChrome();
      if (conversation === state.conversation) {
        if (!input.value) input.value = question;
        announce("De vraag is geannuleerd.");
        input.focus();
      }
      return;
    }
    if (conversation !== state.conversation) return;
    const message = error instanceof ApiError ? error.message : "Er ging iets mis. Probeer het opnieuw.";
    renderError(article, number, message);
    announce(`Fout: ${message}`);
    if (!input.value) input.value = question;
  } finally {
    window.clearInterval(ticker);
    if (state.controller === controller) state.controller = null;
    if (state.controller === null) setBusy(false);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  ask(input.value);
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

input.addEventListener("input", () => {
  if (!fieldError.hidden && input.value.trim()) showFieldError("");
});

newButton.addEventListener("click", startNewConversation);
clearButton.addEventListener("click", clearStored);

for (const button of document.querySelectorAll("[data-example]")) {
  button.addEventListener("click", () => {
    input.value = button.textContent;
    ask(button.textContent);
  });
}

// The keyboard hint is for keyboards: touch screens send with the button.
function updateHint() {
  hint.hidden = touchScreen.matches;
  const described = ["question-error", ...(touchScreen.matches ? [] : ["question-hint"])];
  input.setAttribute("aria-describedby", described.join(" "));
}
touchScreen.addEventListener("change", updateHint);
updateHint();

// Elements scrolled into view by focus stay clear of the sticky question dock.
function updateDockHeight() {
  document.documentElement.style.setProperty("--dock-height", `${Math.ceil(dock.getBoundingClientRect().height)}px`);
}
if ("ResizeObserver" in window) new ResizeObserver(updateDockHeight).observe(dock);
updateDockHeight();

load();
renderConversation();
