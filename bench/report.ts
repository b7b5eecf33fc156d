/** The benchmark's rows as a console table, a Markdown table and an SVG bar chart. */

export interface Row {
  group: string;
  name: string;
  impl: string;
  value: number;
  unit: string;
  lowerIsBetter?: boolean;
  /** Targets from the issue, each judged on this run (zrpc rows only). */
  targets?: Array<{ text: string; met: boolean }>;
  note?: string;
}

type Labels = Record<string, string>;

function format(value: number, unit: string): string {
  if (unit === 'calls/s' || unit === 'msg/s') return `${Math.round(value).toLocaleString('en')} ${unit}`;
  if (unit === '%') return `${value >= 0 ? '+' : ''}${value.toFixed(1)} %`;
  return `${value.toFixed(unit === 's' ? 2 : 1)} ${unit}`;
}

/** value ÷ raw zeromq.js's value in the same group and measure, from this run. */
function ratio(rows: readonly Row[], row: Row): string {
  const raw = rows.find((r) => r.group === row.group && r.name === row.name && r.impl === 'raw');
  if (!raw || raw.value === 0 || row.unit === '%') return '';
  return `${(row.value / raw.value).toFixed(2)} ×`;
}

const implOrder = ['zrpc', 'raw', 'python', 'grpc'];

/** Rows of one scenario together, in the order scenarios were first measured. */
function ordered(rows: readonly Row[]): Row[] {
  const groups = [...new Set(rows.map((r) => `${r.group}\u0000${r.name}`))];
  const key = (r: Row) => groups.indexOf(`${r.group}\u0000${r.name}`) * 10 + implOrder.indexOf(r.impl);
  return [...rows].sort((a, b) => key(a) - key(b));
}

function cells(rows: readonly Row[], labels: Labels): string[][] {
  return ordered(rows).map((r) => [
    r.group,
    r.name,
    labels[r.impl] ?? r.impl,
    format(r.value, r.unit),
    ratio(rows, r),
    (r.targets ?? []).map((t) => `${t.met ? 'met' : 'MISSED'}: ${t.text}`).join('; '),
    r.note ?? '',
  ]);
}

const header = ['scenario', 'measure', 'implementation', 'value', 'vs raw zeromq.js', 'target', 'note'];

export function renderTable(rows: readonly Row[], labels: Labels): string {
  const all = [header, ...cells(rows, labels)];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  return all.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function renderMarkdown(rows: readonly Row[], labels: Labels, date: string, quick: boolean): string {
  const lines = [
    `# zrpc benchmark${quick ? ' (quick)' : ''}`,
    '',
    `Run ${date} on ${process.platform}/${process.arch}, Node ${process.version}; servers and clients in separate processes on loopback. Ratios are to raw zeromq.js in the same run.`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...cells(rows, labels).map((row) => `| ${row.join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

const chartGroups = ['sequential add, tcp', '100 in flight, add, tcp', '4 client processes × 100 in flight, tcp'];
const colors: Record<string, string> = { zrpc: '#2b6cb0', raw: '#718096', python: '#d69e2e', grpc: '#38a169' };

/** Grouped horizontal bars of calls/s, one group a scenario, one bar an implementation. */
export function renderChart(rows: readonly Row[], labels: Labels): string {
  const bars = chartGroups.map((group) => ({ group, rows: rows.filter((r) => r.group === group && r.unit === 'calls/s') }));
  const max = Math.max(...bars.flatMap((b) => b.rows.map((r) => r.value)));
  const barHeight = 18;
  const left = 190;
  const width = 720;
  let y = 40;
  const parts: string[] = [];
  for (const { group, rows: groupRows } of bars) {
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escape(group)}</text>`);
    y += 8;
    for (const row of groupRows) {
      const w = Math.max(1, ((width - left - 110) * row.value) / max);
      parts.push(
        `<text x="${left - 8}" y="${y + 13}" text-anchor="end">${escape(labels[row.impl] ?? row.impl)}</text>`,
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${colors[row.impl] ?? '#999'}"/>`,
        `<text x="${left + w + 6}" y="${y + 13}">${Math.round(row.value).toLocaleString('en')}</text>`,
      );
      y += barHeight + 4;
    }
    y += 22;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Calls per second (higher is better)</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
