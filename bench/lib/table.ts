export interface Column {
  header: string;
  /** Numbers read best right-aligned. */
  align?: 'left' | 'right';
}

/**
 * Renders a GitHub-flavoured Markdown table, padded so it is also readable as plain text
 * on a terminal.
 */
export function markdownTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((col, i) => Math.max(3, col.header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const cell = (text: string, i: number): string =>
    columns[i].align === 'right' ? text.padStart(widths[i]) : text.padEnd(widths[i]);
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const rule = columns.map((col, i) => (col.align === 'right' ? `${'-'.repeat(widths[i] - 1)}:` : '-'.repeat(widths[i])));
  return [
    line(columns.map((col, i) => cell(col.header, i))),
    line(rule),
    ...rows.map((row) => line(columns.map((_, i) => cell(row[i] ?? '', i)))),
  ].join('\n');
}

/** Formats a number with a fixed count of decimals, or `n/a` when it is not finite. */
export function fixed(value: number, decimals: number): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : 'n/a';
}
