// A small, safe renderer for the structure the guidance documents carry in plain text:
// **bold**, list markers (-, *, •, >, 1., 1), a.), [text](#) link stubs, # headings and
// tab-separated table rows. It only ever creates elements and text nodes (never innerHTML),
// and every text node it emits is an exact slice of the source, so a highlighted range
// [start, end) in the source maps onto <mark> elements without changing the quote.

const HEADING = /^(#{1,6})\s+/;
const BULLET = /^(?:[•>]|[-*](?=\s))\s*/;
const NUMBERED = /^(\d{1,2})[.)](?=\s)\s*/;
const LETTERED = /^([a-z])[.)](?=\s)\s*/;
const LINK = /\[([^\]\n]+)\]\(([^)\s]*)\)/g;

/** Every non-blank line with offsets trimmed to its content and the blank lines around it. */
function splitLines(text) {
  const raw = [];
  let position = 0;
  for (const piece of text.split("\n")) {
    const lead = piece.length - piece.trimStart().length;
    const body = piece.trim();
    raw.push({ lineStart: position, start: position + lead, end: position + lead + body.length, text: body });
    position += piece.length + 1;
  }
  const lines = [];
  raw.forEach((line, index) => {
    if (!line.text) return;
    const before = index === 0 || !raw[index - 1].text;
    const after = index === raw.length - 1 || !raw[index + 1].text;
    lines.push({ ...line, blankBefore: before, blankAfter: after });
  });
  return lines;
}

/** A short standalone line without sentence punctuation reads as a heading in these documents. */
function looksLikeHeading(text) {
  if (text.endsWith("?")) {
    return text.length <= 120 && text.split("? ").filter(Boolean).length <= 2 && !text.includes(". ");
  }
  return text.length <= 90 && !/[.,;:!]$/.test(text) && !text.includes(":") && !text.includes(". ")
    && !/^\d+$/.test(text) && text[0] === text[0].toUpperCase() && text[0] !== text[0].toLowerCase();
}

function classify(line) {
  const { text } = line;
  if (text.includes("\t")) return { kind: "row" };
  const heading = HEADING.exec(text);
  if (heading) return { kind: "heading", skip: heading[0].length, level: heading[1].length };
  const numbered = NUMBERED.exec(text);
  if (numbered && line.blankBefore && line.blankAfter && text.length <= 60 && !/[.,;:]$/.test(text)) {
    return { kind: "heading", skip: 0 };
  }
  if (numbered) return { kind: "item", list: "ol", skip: numbered[0].length, value: Number(numbered[1]) };
  const lettered = LETTERED.exec(text);
  if (lettered) {
    return { kind: "item", list: "ol-a", skip: lettered[0].length,
      value: lettered[1].charCodeAt(0) - 96 };
  }
  const bullet = BULLET.exec(text);
  if (bullet && bullet[0].length < text.length) return { kind: "item", list: "ul", skip: bullet[0].length };
  if (line.blankBefore && line.blankAfter && looksLikeHeading(text)) return { kind: "heading", skip: 0, guessed: true };
  return { kind: "paragraph" };
}

/** The text's blocks: paragraphs, headings, lists and tables, each as source ranges. */
export function parseBlocks(input) {
  const text = String(input || "");
  const blocks = [];
  let current = null;
  for (const line of splitLines(text)) {
    const type = classify(line);
    if (type.kind === "row") {
      const cells = [];
      let start = line.start;
      for (const cell of text.slice(line.start, line.end).split("\t")) {
        const lead = cell.length - cell.trimStart().length;
        const body = cell.trim();
        cells.push([start + lead, start + lead + body.length]);
        start += cell.length + 1;
      }
      // A table whose first row opens with an empty cell (a tab) has a column header row.
      const head = text.slice(line.lineStart, line.start).includes("\t");
      if (head) cells.unshift([line.start, line.start]);
      if (current && current.type === "table" && !line.blankBefore) current.rows.push(cells);
      else blocks.push(current = { type: "table", rows: [cells], head });
      continue;
    }
    if (type.kind === "item") {
      const item = { range: [line.start + type.skip, line.end], value: type.value };
      if (current && current.type === type.list) current.items.push(item);
      else blocks.push(current = { type: type.list, items: [item] });
      continue;
    }
    if (type.kind === "heading") {
      blocks.push(current = { type: "heading", range: [line.start + type.skip, line.end],
        guessed: Boolean(type.guessed) });
      continue;
    }
    if (current && current.type === "p" && !line.blankBefore) current.range[1] = line.end;
    else blocks.push(current = { type: "p", range: [line.start, line.end] });
  }
  return blocks;
}

/** Inline tokens of text[start, end): plain ranges, bold runs and link stubs (text only). */
function inlineTokens(text, start, end) {
  const tokens = [];
  const plain = (s, e) => { if (e > s) tokens.push({ type: "text", range: [s, e] }); };
  const links = (s, e, into) => {
    LINK.lastIndex = 0;
    const slice = text.slice(s, e);
    let last = 0;
    let match;
    while ((match = LINK.exec(slice)) !== null) {
      into(s + last, s + match.index);
      tokens.push({ type: "link", range: [s + match.index + 1, s + match.index + 1 + match[1].length] });
      last = match.index + match[0].length;
    }
    into(s + last, e);
  };
  let cursor = start;
  while (cursor < end) {
    const open = text.indexOf("**", cursor);
    if (open < 0 || open >= end) break;
    const close = text.indexOf("**", open + 2);
    if (close < 0 || close + 2 > end) break;
    links(cursor, open, plain);
    if (close > open + 2) {
      const inner = [];
      const before = tokens.length;
      links(open + 2, close, (s, e) => { if (e > s) tokens.push({ type: "text", range: [s, e] }); });
      inner.push(...tokens.splice(before));
      tokens.push({ type: "bold", children: inner });
    }
    cursor = close + 2;
  }
  links(cursor, end, plain);
  return tokens;
}

/**
 * Emits source ranges as text nodes, splitting them around the highlighted range into
 * <mark> elements; `marks` collects those in reading order.
 */
class Emitter {
  constructor(text, highlight) {
    this.text = text;
    this.highlight = highlight;
    this.marks = [];
  }

  range(parent, start, end) {
    const [hs, he] = this.highlight || [0, 0];
    if (!this.highlight || end <= hs || start >= he) {
      parent.append(document.createTextNode(this.text.slice(start, end)));
      return;
    }
    if (start < hs) parent.append(document.createTextNode(this.text.slice(start, hs)));
    const from = Math.max(start, hs);
    const to = Math.min(end, he);
    const mark = document.createElement("mark");
    mark.className = "doc-mark";
    mark.dataset.start = String(from);
    mark.dataset.end = String(to);
    mark.append(document.createTextNode(this.text.slice(from, to)));
    parent.append(mark);
    this.marks.push(mark);
    if (end > he) parent.append(document.createTextNode(this.text.slice(he, end)));
  }

  inline(parent, start, end) {
    const emit = (into, token) => {
      if (token.type === "bold") {
        const strong = document.createElement("strong");
        token.children.forEach((child) => emit(strong, child));
        into.append(strong);
      } else if (token.type === "link") {
        const span = document.createElement("span");
        span.className = "link-stub";
        this.range(span, ...token.range);
        into.append(span);
      } else {
        this.range(into, ...token.range);
      }
    };
    for (const token of inlineTokens(this.text, start, end)) emit(parent, token);
    return parent;
  }
}

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

/**
 * Render text as blocks. Options: `highlight` [start, end) in UTF-16 units to mark,
 * `headingTag` for headings ("h3" in the document viewer; otherwise a bold paragraph).
 * Returns { fragment, marks }.
 */
export function renderRich(text, { highlight = null, headingTag = null } = {}) {
  const source = String(text || "");
  const emitter = new Emitter(source, highlight);
  const fragment = document.createDocumentFragment();
  for (const block of parseBlocks(source)) {
    if (block.type === "p") {
      fragment.append(emitter.inline(element("p", "rich-p"), ...block.range));
    } else if (block.type === "heading") {
      const node = headingTag ? element(headingTag, "rich-heading") : element("p", "rich-heading");
      fragment.append(emitter.inline(node, ...block.range));
    } else if (block.type === "table") {
      const wrap = element("div", "rich-table-wrap");
      const table = element("table", "rich-table");
      let body = null;
      block.rows.forEach((cells, index) => {
        const header = index === 0 && block.head;
        if (header) {
          body = table.appendChild(element("thead"));
        } else if (!body || body.tagName === "THEAD") {
          body = table.appendChild(element("tbody"));
        }
        const row = element("tr");
        cells.forEach((range, column) => {
          const corner = header && column === 0 && range[0] === range[1];
          const cell = element(!corner && (header || column === 0) ? "th" : "td");
          if (cell.tagName === "TH") cell.setAttribute("scope", header ? "col" : "row");
          emitter.inline(cell, ...range);
          row.append(cell);
        });
        body.append(row);
      });
      wrap.append(table);
      fragment.append(wrap);
    } else {
      const list = element(block.type === "ul" ? "ul" : "ol", "rich-list");
      if (block.type === "ol-a") list.setAttribute("type", "a");
      for (const item of block.items) {
        const li = element("li");
        if (block.type !== "ul" && item.value) li.value = item.value;
        list.append(emitter.inline(li, ...item.range));
      }
      fragment.append(list);
    }
  }
  return { fragment, marks: emitter.marks };
}

/** Inline markup only (bold, link stubs) of one line of text, as a fragment. */
export function renderInline(text) {
  const source = String(text || "");
  const emitter = new Emitter(source, null);
  const fragment = document.createDocumentFragment();
  emitter.inline(fragment, 0, source.length);
  return fragment;
}

/**
 * One quoted unit of an answer from its verbatim quote: a leading list marker is dropped
 * (the answer shows the list itself), emphasis and link stubs are kept as structure.
 */
export function renderSegment(quote, fallback = "") {
  const source = String(quote || "");
  if (!source.trim()) return renderInline(fallback);
  const lead = source.length - source.trimStart().length;
  const body = source.slice(lead);
  const bullet = BULLET.exec(body);  // numbers and letters stay: they carry the order
  const start = lead + (bullet && bullet[0].length < body.length ? bullet[0].length : 0);
  const emitter = new Emitter(source, null);
  const fragment = document.createDocumentFragment();
  emitter.inline(fragment, start, source.trimEnd().length);
  return fragment;
}

function plainInline(text, start, end) {
  const parts = [];
  const walk = (token) => {
    if (token.type === "bold") token.children.forEach(walk);
    else parts.push(text.slice(...token.range));
  };
  inlineTokens(text, start, end).forEach(walk);
  return parts.join("");
}

/** The text without markup, lists as "- item" / "1. item" lines: for copying into a memo. */
export function plainText(text) {
  const source = String(text || "");
  const lines = [];
  for (const block of parseBlocks(source)) {
    if (block.type === "p" || block.type === "heading") {
      lines.push(plainInline(source, ...block.range));
    } else if (block.type === "table") {
      for (const cells of block.rows) lines.push(cells.map((r) => plainInline(source, ...r)).join(" | "));
    } else {
      block.items.forEach((item, index) => {
        const marker = block.type === "ul" ? "-"
          : block.type === "ol-a" ? `${String.fromCharCode(96 + (item.value || index + 1))}.`
            : `${item.value || index + 1}.`;
        lines.push(`${marker} ${plainInline(source, ...item.range)}`);
      });
    }
  }
  return lines.join("\n");
}
