// Chat page: questions with follow-ups, cited answers, instruments, copy and feedback.
import { $, ApiError, DocumentViewer, announce, api, citationList, el, icon, nextId } from "./common.js";

const MAX_HISTORY = 20;
const TOP_K = 5;

const state = { history: [], busy: false, generation: 0 };
const form = $("#ask-form");
const input = $("#question");
const askButton = $("#ask-button");
const fieldError = $("#question-error");
const conversation = $("#conversation");
const intro = $("#intro");
const viewer = new DocumentViewer();

function showFieldError(message) {
  fieldError.textContent = message;
  fieldError.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function setBusy(busy) {
  state.busy = busy;
  askButton.disabled = busy;
  askButton.textContent = busy ? "Bezig…" : "Vraag stellen";
  form.setAttribute("aria-busy", busy ? "true" : "false");
}

/** The answer text with every "[n]" that matches a citation as a button. */
function answerText(text, citations) {
  const paragraph = el("p", { className: "answer-text" });
  const byNumber = new Map(citations.map((c) => [Number(c.n), c]));
  const marker = /\[(\d+)\]/g;
  let last = 0;
  let match;
  while ((match = marker.exec(text)) !== null) {
    const citation = byNumber.get(Number(match[1]));
    if (!citation) continue;
    paragraph.append(document.createTextNode(text.slice(last, match.index)));
    paragraph.append(el("button", {
      className: "cite-marker",
      attrs: { type: "button", "data-n": citation.n, title: `${citation.title} — ${citation.section}` },
      on: { click: (event) => viewer.open(citation, event.currentTarget) },
    }, `[${citation.n}]`, el("span", { className: "visually-hidden", text: ` bron ${citation.n} tonen in ${citation.title}` })));
    last = marker.lastIndex;
  }
  paragraph.append(document.createTextNode(text.slice(last)));
  return paragraph;
}

function instrumentCards(instruments) {
  const headingId = nextId("instruments");
  const section = el("section", { className: "instruments", attrs: { "aria-labelledby": headingId } },
    el("h3", { text: "Financiële instrumenten en ondersteuning", attrs: { id: headingId } }));
  const list = el("ul", { className: "cards" });
  for (const instrument of instruments) {
    const fit = instrument.fits
      ? el("span", { className: "badge fit-yes", text: "Past bij uw situatie" })
      : el("span", { className: "badge fit-no", text: "Past niet" });
    const card = el("li", { className: `card instrument ${instrument.fits ? "fits" : "no-fit"}`,
      attrs: { "data-id": instrument.id } },
      el("h4", { className: "card-title", text: instrument.name }),
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
      el("span", { className: "quote-text", text: `“${source.quote}”` }),
      el("span", { className: "quote-source", text: `${source.title} — toon in document` })));
    }
    list.append(card);
  }
  section.append(list);
  return section;
}

function plainCopy(question, response) {
  const lines = [response.answer.trim()];
  if (response.citations.length) {
    lines.push("", "Bronnen:");
    for (const c of response.citations) {
      const where = c.section ? `${c.title} — ${c.section}` : c.title;
      lines.push(`[${c.n}] ${where}: "${c.quote}"`);
    }
  }
  return lines.join("\n");
}

function copyControls(question, response) {
  const wrap = el("div", { className: "copy" });
  const message = el("div", { className: "copy-status", attrs: { role: "status" } });
  const text = plainCopy(question, response);
  const button = el("button", {
    className: "button secondary small",
    attrs: { type: "button" },
    on: {
      click: async () => {
        message.replaceChildren();
        try {
          if (!navigator.clipboard || !window.isSecureContext) throw new Error("geen klembord");
          await navigator.clipboard.writeText(text);
          message.textContent = response.citations.length
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
  }, response.citations.length ? "Kopieer antwoord met bronnen" : "Kopieer antwoord");
  wrap.append(button, message);
  return wrap;
}

function feedbackControls(question, response) {
  const reasonId = nextId("reason");
  const box = el("div", { className: "feedback" });
  const status = el("p", { className: "feedback-status", attrs: { role: "status" } });
  const reason = el("input", { attrs: { id: reasonId, type: "text", maxlength: 2000, autocomplete: "off" } });
  const buttons = [];
  const send = async (rating, button) => {
    buttons.forEach((b) => { b.disabled = true; });
    button.setAttribute("aria-pressed", "true");
    status.className = "feedback-status";
    status.textContent = "Feedback versturen…";
    try {
      await api("/api/feedback", { method: "POST", body: {
        rating, reason: reason.value.trim(), question, answer: response.answer, citations: response.citations,
      } });
      status.textContent = "Bedankt voor uw feedback";
      reason.disabled = true;
    } catch (error) {
      buttons.forEach((b) => { b.disabled = false; b.setAttribute("aria-pressed", "false"); });
      status.className = "feedback-status error";
      status.textContent = error instanceof ApiError ? error.message : "De feedback kon niet worden verstuurd.";
    }
  };
  for (const [rating, label] of [["up", "Nuttig"], ["down", "Niet nuttig"]]) {
    const button = el("button", {
      className: `button thumb thumb-${rating}`,
      attrs: { type: "button", "aria-pressed": "false", "data-rating": rating },
    }, icon(rating), label);
    button.addEventListener("click", () => send(rating, button));
    buttons.push(button);
  }
  box.append(el("fieldset", {},
    el("legend", { text: "Was dit antwoord nuttig?" }),
    el("div", { className: "feedback-row" },
      el("div", { className: "field reason-field" },
        el("label", { attrs: { for: reasonId }, text: "Toelichting (optioneel)" }), reason),
      el("div", { className: "thumbs" }, ...buttons))), status);
  return box;
}

function renderAnswer(article, question, response) {
  article.removeAttribute("aria-busy");
  article.replaceChildren();
  if (!response.answerable) {
    article.className = "answer refusal";
    article.append(
      el("h3", { className: "answer-heading", text: "Dit staat niet in de documenten" }),
      el("p", { className: "answer-text", text: response.answer }));
  } else {
    article.className = "answer";
    article.append(el("h3", { className: "answer-heading", text: "Antwoord" }),
      answerText(response.answer, response.citations));
    if (response.citations.length) article.append(citationList(response.citations, viewer, { headingLevel: "h4" }));
    if (response.instruments && response.instruments.length) article.append(instrumentCards(response.instruments));
  }
  article.append(el("div", { className: "answer-actions" },
    copyControls(question, response), feedbackControls(question, response)));
}

function renderError(article, message) {
  article.className = "answer error";
  article.removeAttribute("aria-busy");
  article.replaceChildren(
    el("h3", { className: "answer-heading", text: "Er ging iets mis" }),
    el("p", { className: "answer-text", attrs: { role: "alert" }, text: message }));
}

function updateIntro() {
  const empty = conversation.children.length === 0;
  intro.classList.toggle("compact", !empty);
  $("#examples").hidden = !empty;
}

async function ask(question) {
  if (state.busy) return;
  const trimmed = question.trim();
  if (!trimmed) {
    showFieldError("Typ eerst een vraag over wonen en zorg.");
    input.focus();
    return;
  }
  showFieldError("");
  const generation = state.generation;
  const history = state.history.slice(-MAX_HISTORY);
  const turn = el("li", { className: "turn" });
  const asked = el("div", { className: "question" },
    el("p", { className: "who", text: "U vroeg" }),
    el("p", { className: "question-text", text: question }));
  const article = el("article", { className: "answer pending", attrs: { "aria-busy": "true" } },
    el("p", { className: "loading" }, el("span", { className: "spinner", attrs: { "aria-hidden": "true" } }),
      "Bezig met zoeken…"));
  turn.append(asked, article);
  conversation.append(turn);
  updateIntro();
  input.value = "";
  setBusy(true);
  announce("Bezig met zoeken…");
  turn.scrollIntoView({ block: "nearest" });
  try {
    const response = await api("/api/ask", { method: "POST", body: { question, history, top_k: TOP_K } });
    if (generation !== state.generation) return;
    renderAnswer(article, question, response);
    state.history.push({ role: "user", content: question }, { role: "assistant", content: response.answer });
    state.history = state.history.slice(-MAX_HISTORY);
    announce(response.answerable
      ? `Antwoord: ${response.answer}`
      : `Dit staat niet in de documenten. ${response.answer}`);
  } catch (error) {
    if (generation !== state.generation) return;
    const message = error instanceof ApiError ? error.message : "Er ging iets mis. Probeer het opnieuw.";
    renderError(article, message);
    announce(`Fout: ${message}`);
    if (!input.value) input.value = question;
  } finally {
    if (generation === state.generation) setBusy(false);
  }
  turn.scrollIntoView({ block: "start", behavior: "smooth" });
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

$("#new-conversation").addEventListener("click", () => {
  state.generation += 1;
  state.history = [];
  conversation.replaceChildren();
  setBusy(false);
  showFieldError("");
  input.value = "";
  updateIntro();
  announce("Nieuw gesprek gestart.");
  input.focus();
});

for (const button of document.querySelectorAll("[data-example]")) {
  button.addEventListener("click", () => {
    input.value = button.textContent;
    ask(button.textContent);
    input.focus();
  });
}

updateIntro();
