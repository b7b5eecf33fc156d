/** The benchmark's rows as a console table, a Markdown table and an SVG bar chart. */

export interface Row {
  group: string;
  name: string;
  impl: string;
  /** The median of `samples` when there are several. */
  value: number;
  /** One value per round, in round order, so that round i of two implementations ran side by side. */
  samples?: number[];
  unit: string;
  lowerIsBetter?: boolean;
  /** Targets from the issue, each judged on this run's medians (zrpc rows only); `actual` is what was measured against it. */
  targets?: Array<{ text: string; met: boolean; actual?: string }>;
  note?: string;
}

type Labels = Record<string, string>;

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function number(value: number, unit: string): string {
  if (unit === 'calls/s' || unit === 'msg/s') return Math.round(value).toLocaleString('en');
  if (unit === '%') return `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
  return value.toFixed(unit === 's' ? 2 : 1);
}

function format(value: number, unit: string): string {
  return `${number(value, unit)} ${unit}`;
}

/** min–max of the rounds, and that width as a share of the median: how noisy the row was. */
function spread(row: Row): string {
  if (!row.samples || row.samples.length < 2) return '';
  const min = Math.min(...row.samples);
  const max = Math.max(...row.samples);
  const width = row.value === 0 ? '' : ` (${Math.round(((max - min) / Math.abs(row.value)) * 100)}%)`;
  return `${number(min, row.unit)}–${number(max, row.unit)}${width}`;
}

const rawOf = (rows: readonly Row[], row: Row) => rows.find((r) => r.group === row.group && r.name === row.name && r.impl === 'raw');

/** median ÷ raw zeromq.js's median in the same group and measure, from this run. */
function ratio(rows: readonly Row[], row: Row): string {
  const raw = rawOf(rows, row);
  if (!raw || raw.value === 0 || row.unit === '%') return '';
  return `${(row.value / raw.value).toFixed(2)} ×`;
}

/** The range of value ÷ raw round by round: the two ran seconds apart, so this is the ratio's own noise. */
function roundRatios(rows: readonly Row[], row: Row): string {
  const raw = rawOf(rows, row);
  if (row.impl === 'raw' || !raw?.samples || row.samples?.length !== raw.samples.length || row.samples.length < 2) return '';
  const ratios = row.samples.map((v, i) => v / raw.samples![i]!);
  return `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} ×`;
}

const implOrder = ['zrpc', 'zrpc-intercepted', 'raw', 'python', 'grpc'];

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
    spread(r),
    ratio(rows, r),
    roundRatios(rows, r),
    (r.targets ?? []).map((t) => `${t.met ? 'met' : 'MISSED'}: ${t.text}${t.actual ? ` (${t.actual})` : ''}`).join('; '),
    r.note ?? '',
  ]);
}

const header = ['scenario', 'measure', 'implementation', 'median', 'spread (min–max)', 'median ÷ raw', 'each round ÷ raw', 'target', 'note'];

export function renderTable(rows: readonly Row[], labels: Labels): string {
  const all = [header, ...cells(rows, labels)];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  return all.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** How the run was made, for the Markdown file's opening lines. */
export interface RunInfo {
  date: string;
  quick: boolean;
  rounds: number;
  seconds: number;
  /** The whole run, from the first measurement to the last. */
  elapsed: number;
}

/** "Targets: n of m met", then one line per missed target (targets are on zrpc's rows). */
export function renderTargets(rows: readonly Row[]): string[] {
  const judged = rows.flatMap((r) => (r.targets ?? []).map((t) => ({ row: r, target: t })));
  const missed = judged.filter((j) => !j.target.met);
  return [
    `Targets: ${judged.length - missed.length} of ${judged.length} met.`,
    ...missed.map(({ row, target }) => `- MISSED: ${row.group} — ${row.name}: ${target.text}${target.actual ? ` (${target.actual})` : ''}`),
  ];
}

export function renderMarkdown(rows: readonly Row[], labels: Labels, run: RunInfo): string {
  const elapsed = Math.round(run.elapsed);
  const minutes = `${Math.floor(elapsed / 60)} min ${elapsed % 60} s`;
  const lines = [
    `# zrpc benchmark${run.quick ? ' (quick)' : ''}`,
    '',
    `Run ${run.date} on ${process.platform}/${process.arch}, Node ${process.version}, in ${minutes}; servers and clients in separate processes on loopback.`,
    '',
    `Each comparison row is the median of ${run.rounds} rounds of ${run.seconds} s (pipeline and pub/sub: sending for that long, the rate as received); ` +
      'within a round the implementations run one after another (zrpc, raw zeromq.js, Python, grpc-js), so the rounds of a row interleave and share whatever else the machine was doing. ' +
      '*spread* is the lowest and highest round, with their distance as a share of the median; *median ÷ raw* compares medians of this run, ' +
      '*each round ÷ raw* the range of the ratio taken round by round. Rows without a spread are measured once (many servers, memory, generator); start-up is the median of alternating fresh processes.',
    '',
    ...renderTargets(rows),
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...cells(rows, labels).map((row) => `| ${row.join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

const chartGroups = ['sequential add, tcp', '100 in flight, add, tcp', '4 client processes × 100 in flight, tcp'];
const colors: Record<string, string> = { zrpc: '#2b6cb0', 'zrpc-intercepted': '#63b3ed', raw: '#718096', python: '#d69e2e', grpc: '#38a169' };

/** Grouped horizontal bars of median calls/s, one group a scenario, one bar an implementation, a line across the rounds' min–max. */
export function renderChart(rows: readonly Row[], labels: Labels): string {
  const bars = chartGroups.map((group) => ({ group, rows: rows.filter((r) => r.group === group && r.unit === 'calls/s') }));
  const max = Math.max(...bars.flatMap((b) => b.rows.flatMap((r) => r.samples ?? [r.value])));
  const barHeight = 18;
  const left = 190;
  const width = 720;
  const x = (value: number) => left + Math.max(1, ((width - left - 110) * value) / max);
  let y = 40;
  const parts: string[] = [];
  for (const { group, rows: groupRows } of bars) {
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escape(group)}</text>`);
    y += 8;
    for (const row of groupRows) {
      const [low, high] = [Math.min(...(row.samples ?? [row.value])), Math.max(...(row.samples ?? [row.value]))];
      const mid = y + barHeight / 2;
      parts.push(
        `<text x="${left - 8}" y="${y + 13}" text-anchor="end">${escape(labels[row.impl] ?? row.impl)}</text>`,
        `<rect x="${left}" y="${y}" width="${(x(row.value) - left).toFixed(1)}" height="${barHeight}" fill="${colors[row.impl] ?? '#999'}"/>`,
        `<line x1="${x(low).toFixed(1)}" x2="${x(high).toFixed(1)}" y1="${mid}" y2="${mid}" stroke="black"/>`,
        `<text x="${(x(Math.max(row.value, high)) + 6).toFixed(1)}" y="${y + 13}">${Math.round(row.value).toLocaleString('en')}</text>`,
      );
      y += barHeight + 4;
    }
    y += 22;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Calls per second, median of the rounds; the line spans the rounds (higher is better)</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
