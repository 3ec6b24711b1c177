() => { setTimeout(() => {
  const mark = document.querySelector('#source-view mark.cited');
  if (mark) mark.scrollIntoView({ block: 'center' });
}, 150); }
