/**
 * Inline SVG charts for the HTML report: no script, no fonts or styles from the network. Each bar or
 * segment has a `<title>`, which browsers show on hover.
 */

/** Text made safe for HTML and SVG (element content and quoted attributes). */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Distinct colours, readable on white, for series. */
export const PALETTE = [
  '#4269d0',
  '#efb118',
  '#ff725c',
  '#6cc5b0',
  '#3ca951',
  '#ff8ab7',
  '#a463f2',
  '#97bbf5',
  '#9c6b4e',
  '#9498a0',
];

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
export const fmt = (n: number): string => numberFormat.format(n);

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

export interface Series {
  name: string;
  values: number[];
}

/**
 * Stacked columns over time: one column per bucket, one coloured segment per series, with a legend,
 * a y axis with three ticks and the first, middle and last bucket labels under the x axis.
 */
export function stackedColumns(
  labels: readonly string[],
  series: readonly Series[],
  options: { title: string },
): string {
  const width = 900;
  const height = 280;
  const left = 56;
  const bottom = 36;
  const top = 12;
  const plotW = width - left - 12;
  const plotH = height - top - bottom;
  const totals = labels.map((_, i) => series.reduce((n, s) => n + (s.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const step = labels.length > 0 ? plotW / labels.length : plotW;
  const barW = Math.max(1, step * 0.8);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const parts: string[] = [];
  for (const tick of [0, max / 2, max]) {
    parts.push(
      `<line x1="${left}" x2="${width - 12}" y1="${y(tick)}" y2="${y(tick)}" class="grid"/>`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${fmt(tick)}</text>`,
    );
  }
  labels.forEach((label, i) => {
    let base = 0;
    const x = left + i * step + (step - barW) / 2;
    series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return;
      const y0 = y(base);
      const y1 = y(base + v);
      base += v;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(0.5, y0 - y1).toFixed(1)}" fill="${PALETTE[k % PALETTE.length]}"><title>${escapeHtml(`${label} · ${s.name}: ${fmt(v)}`)}</title></rect>`,
      );
    });
  });
  const shown =
    labels.length <= 3
      ? labels.map((_, i) => i)
      : [0, Math.floor((labels.length - 1) / 2), labels.length - 1];
  for (const i of new Set(shown)) {
    const anchor = i === 0 ? 'start' : i === labels.length - 1 ? 'end' : 'middle';
    const x = i === 0 ? left : i === labels.length - 1 ? width - 12 : left + i * step + step / 2;
    parts.push(
      `<text x="${x}" y="${height - 14}" text-anchor="${anchor}">${escapeHtml(labels[i] ?? '')}</text>`,
    );
  }
  const legend = series
    .map(
      (s, k) =>
        `<span class="key"><i style="background:${PALETTE[k % PALETTE.length]}"></i>${escapeHtml(s.name)}</span>`,
    )
    .join('');
  return `<figure><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(options.title)}">${parts.join('')}</svg><figcaption>${legend}</figcaption></figure>`;
}

export interface Bar {
  label: string;
  value: number;
  /** Shown after the value, e.g. a share. */
  note?: string;
}

/** Horizontal bars, longest first as given, each labelled with its value. */
export function horizontalBars(bars: readonly Bar[], options: { title: string; color?: string }): string {
  if (bars.length === 0) return '<p class="empty">Nothing to show.</p>';
  const width = 900;
  const rowH = 30;
  const labelW = 220;
  const valueW = 190;
  const plotW = width - labelW - valueW;
  const height = bars.length * rowH + 8;
  const max = Math.max(0, ...bars.map((b) => b.value)) || 1;
  const color = options.color ?? PALETTE[0];
  const parts = bars.map((bar, i) => {
    const y = 4 + i * rowH;
    const w = Math.max(bar.value > 0 ? 1 : 0, (bar.value / max) * plotW);
    const text = `${fmt(bar.value)}${bar.note === undefined ? '' : ` · ${bar.note}`}`;
    return (
      `<text x="${labelW - 8}" y="${y + 19}" text-anchor="end">${escapeHtml(bar.label)}</text>` +
      `<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${color}"><title>${escapeHtml(`${bar.label}: ${text}`)}</title></rect>` +
      `<text x="${(labelW + w + 8).toFixed(1)}" y="${y + 19}">${escapeHtml(text)}</text>`
    );
  });
  return `<figure><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(options.title)}">${parts.join('')}</svg></figure>`;
}
