// Clicking any [n] marker or "open in source" link asks the server for that span.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a.cite-marker');
  if (!link) return;
  event.preventDefault();
  const box = document.querySelector('#cite-request textarea, #cite-request input');
  const go = document.querySelector('#cite-go');
  if (!box || !go) return;
  const ref = (link.getAttribute('href') || '').replace(/^#cite-/, '').replace(/-/g, ':');
  box.value = ref;
  box.dispatchEvent(new Event('input', { bubbles: true }));
  setTimeout(() => go.click(), 60);
});

// The request box and its button are plumbing, not controls: out of the tab order and
// hidden from screen readers, so Tab starts at the page's own fields.
const hidePlumbing = () => {
  for (const el of document.querySelectorAll('#cite-request textarea, #cite-request input, #cite-go')) {
    el.setAttribute('tabindex', '-1');
    el.setAttribute('aria-hidden', 'true');
  }
};
new MutationObserver(hidePlumbing).observe(document.documentElement, { childList: true, subtree: true });
document.addEventListener('DOMContentLoaded', hidePlumbing);

// Gradio's upload-progress stream (its File component) is a stand-in object whose close()
// only warns "Method not implemented." — twice after every upload that succeeded. That one
// message from the framework is dropped; every other warning goes through.
const gradioWarn = console.warn.bind(console);
console.warn = (...args) => {
  if (args.length === 1 && args[0] === 'Method not implemented.') return;
  gradioWarn(...args);
};

// Screen readers hear each message by its accessible label, which Gradio makes from the
// message's HTML ("bot's message: <div class=…"): an answer is labelled with its words.
// Read again whenever the message's words change: an answer shown whole may be labelled
// before its words are drawn.
const labelAnswers = () => {
  for (const el of document.querySelectorAll('#chat [aria-label^="bot\'s message:"], #chat [data-answer-label]')) {
    const words = (el.innerText || '').replace(/\s+/g, ' ').trim();
    if (!words) continue;
    const answer = 'Answer: ' + (words.length > 400 ? words.slice(0, 400) + '…' : words);
    if (el.getAttribute('aria-label') === answer) continue;
    el.dataset.answerLabel = answer;
    el.setAttribute('aria-label', answer);
  }
};
new MutationObserver(labelAnswers).observe(document.documentElement, {
  childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['aria-label'],
});
