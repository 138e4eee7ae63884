// DOM helpers: look elements up by id, build nodes, capitalise a message.
// Every string reaches the page through textContent, never innerHTML, so
// no user-controlled text is ever parsed as HTML.
// Not for: application state or deciding what to show (the *-list.js views).

export const $ = (id) => document.getElementById(id);

// el builds <tag class=className>text</tag>; text is set as plain text.
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
