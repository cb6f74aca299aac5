// The accessibility checks of one page, as the browser computes the page: every text's
// contrast against what is behind it, every target's size, every control's label, every
// radio group's fieldset and legend. Returns a list of problems (empty when all is well).
const problems = [];
const describe = (el) => {
  const id = el.id ? '#' + el.id : '';
  const cls = el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '';
  return el.tagName.toLowerCase() + id + cls;
};
const parse = (color) => {
  const m = color.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const parts = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
  return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
};
const over = (top, bottom) => ({
  r: top.r * top.a + bottom.r * (1 - top.a),
  g: top.g * top.a + bottom.g * (1 - top.a),
  b: top.b * top.a + bottom.b * (1 - top.a),
  a: 1,
});
const background = (el) => {
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const bg = parse(getComputedStyle(node).backgroundColor);
    if (bg && bg.a > 0) layers.push(bg);
    if (bg && bg.a >= 1) break;
  }
  let color = { r: 255, g: 255, b: 255, a: 1 };
  const canvas = parse(getComputedStyle(document.documentElement).backgroundColor);
  if (layers.length === 0 || layers[layers.length - 1].a < 1) {
    // Nothing opaque behind: the canvas (the root's colour, or white/black by scheme).
    color = canvas && canvas.a > 0 ? over(canvas, color)
      : (matchMedia('(prefers-color-scheme: dark)').matches ? { r: 18, g: 18, b: 18, a: 1 } : color);
  }
  for (let i = layers.length - 1; i >= 0; i--) color = over(layers[i], color);
  return color;
};
const luminance = (c) => {
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
};
const contrast = (a, b) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};
const visible = (el) => {
  const style = getComputedStyle(el);
  if (style.visibility === 'hidden' || style.display === 'none') return false;
  const rect = el.getBoundingClientRect();
  if (rect.width <= 1 || rect.height <= 1) return false;
  return !el.closest('.visually-hidden');
};
let texts = 0;
for (const el of document.body.querySelectorAll('*')) {
  if (el.closest('svg')) continue;
  const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
  const field = el.matches('input:not([type=hidden]):not([type=radio]):not([type=checkbox])') && el.value !== '';
  if (!(own || field) || !visible(el)) continue;
  texts++;
  const style = getComputedStyle(el);
  const fg = parse(style.color);
  const ratio = contrast(over(fg, background(el)), background(el));
  if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)}:1 of ${describe(el)} "${(el.textContent || el.value).trim().slice(0, 40)}"`);
}
const targets = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
for (const el of document.querySelectorAll(targets)) {
  if (!visible(el)) continue;
  const rect = el.getBoundingClientRect();
  if (rect.width < 24 || rect.height < 24) problems.push(`target ${Math.round(rect.width)}x${Math.round(rect.height)} px: ${describe(el)}`);
}
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  const named = el.labels.length > 0 || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
  if (!named) problems.push(`no label: ${describe(el)}`);
}
for (const el of document.querySelectorAll('button')) {
  if (el.textContent.trim() === '' && !el.getAttribute('aria-label')) problems.push(`button without a name: ${describe(el)}`);
}
for (const el of document.querySelectorAll('input[type=radio]')) {
  const legend = el.closest('fieldset')?.querySelector('legend');
  if (!legend || legend.textContent.trim() === '') problems.push(`radio outside a fieldset with a legend: ${describe(el)}`);
}
for (const el of document.querySelectorAll('[aria-describedby]')) {
  for (const id of el.getAttribute('aria-describedby').split(/\s+/)) {
    if (!document.getElementById(id)) problems.push(`aria-describedby names no element ${id}: ${describe(el)}`);
  }
}
if (texts === 0) problems.push('no text found: the check saw nothing');
return problems;
