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
