/**
 * docs/conformance.md: the matrix as a table (one column per executor and pool mode, one row per
 * case, each cell "pass", "FAIL: <short what>" or "not run: <why>"), then every failure in full.
 */
import type { Column } from './columns.js';
import { OUTPUT_CAP, POOL_MAX_IDLE, SHARED_ENV, TMP_MB } from './columns.js';
import type { Row } from './rows.js';

export interface Cell {
  /** The cell's kernel cannot give the row's answer, and why (Row.knownDifferences). */
  knownDifference?: string;
  /** "pass", "FAIL: …", "known difference (below)" or "not run: …" */
  text: string;
  /** Every mismatch, for the details section. */
  problems: string[];
}

/** Rows every column has besides the request rows: checks on the platform process itself. */
export const LIFECYCLE_ROWS = [
  { id: 'start', title: 'platform process starts (faas serve, port 0)' },
  {
    id: 'mode',
    title:
      'the column runs the pool mode it names (of 4 calls of one function in a row, some share a sandbox in reuse mode, none otherwise)',
  },
  { id: 'idle', title: 'after the rows: only pool spares remain (none with pool off), no socket or state files beyond them' },
  { id: 'shutdown', title: 'SIGTERM: exits 0; zero containers of its pid, no VMM process, no file in its run dirs' },
];

export interface Matrix {
  columns: Column[];
  rows: Row[];
  /** cells[rowId][columnId] */
  cells: Map<string, Map<string, Cell>>;
  /** Wall time of each column that ran, in seconds. */
  seconds: Map<string, number>;
  totalSeconds: number;
  command: string;
}

const escapeCell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

function short(cell: Cell | undefined): string {
  if (!cell) return 'not run: not reached';
  if (!cell.text.startsWith('FAIL')) return escapeCell(cell.text);
  const first = cell.problems[0] ?? '';
  const more = cell.problems.length > 1 ? ` (+${cell.problems.length - 1} more)` : '';
  const cut = first.length > 110 ? `${first.slice(0, 110)}…` : first;
  return escapeCell(`FAIL: ${cut}${more}`);
}

export function renderMatrix(m: Matrix): string {
  const lines: string[] = [];
  lines.push('<!-- Generated file: do not edit. Written by tester/src/conformance/conformance.test.ts; rerun to update. -->');
  lines.push('# Conformance matrix');
  lines.push('');
  lines.push(
    'Every row is a request (or a short sequence of them) sent to `POST /functions/{id}/invoke` of a real `faas serve` ' +
      'process, one process per column, with the same expected answer in every column: HTTP status, error `code`, ' +
      '`exit_code`, `signal`, the class of the `error` text, `truncated`, and stdout/stderr byte for byte where they are ' +
      'deterministic. After every row a control invocation (`echo ok`) must succeed.',
  );
  lines.push('');
  lines.push(`Produced by \`${m.command}\` on ${new Date().toISOString().slice(0, 10)} in ${Math.round(m.totalSeconds)} s of wall time.`);
  const env = Object.entries(SHARED_ENV)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  lines.push(
    `Every column runs with \`${env}\` plus its executor and pool mode, and an oci column with its runtime (\`FAAS_OCI_RUNTIME\`).`,
  );
  lines.push('');
  const header = ['case', ...m.columns.map((c) => `${c.id}${m.seconds.has(c.id) ? ` (${Math.round(m.seconds.get(c.id) ?? 0)} s)` : ''}`)];
  lines.push(`| ${header.join(' | ')} |`);
  lines.push(`| ${header.map(() => '---').join(' | ')} |`);
  const rowLine = (id: string, title: string) => {
    const cells = m.columns.map((c) => short(m.cells.get(id)?.get(c.id)));
    lines.push(`| ${escapeCell(`${id}: ${title}`)} | ${cells.join(' | ')} |`);
  };
  const lifecycle = LIFECYCLE_ROWS;
  const [start, mode, ...closing] = lifecycle;
  const order = [start!, mode!, ...m.rows.map((r) => ({ id: r.id, title: r.title })), ...closing];
  for (const row of order) rowLine(row.id, row.title);
  lines.push('');

  let failures = 0;
  const details: string[] = [];
  for (const { id } of order) {
    for (const c of m.columns) {
      const cell = m.cells.get(id)?.get(c.id);
      if (!cell?.text.startsWith('FAIL')) continue;
      failures++;
      details.push(`- **${id}** x **${c.id}**:`);
      for (const p of cell.problems) details.push(`  - ${p.replaceAll('\n', ' ')}`);
    }
  }
  lines.push(`## Failures in full (${failures})`);
  lines.push('');
  lines.push(...(details.length > 0 ? details : ['None.']));
  lines.push('');
  const known: string[] = [];
  for (const { id } of order) {
    for (const c of m.columns) {
      const cell = m.cells.get(id)?.get(c.id);
      if (!cell?.knownDifference) continue;
      known.push(`- **${id}** x **${c.id}**: ${cell.knownDifference}. What came back:`);
      for (const p of cell.problems) known.push(`  - ${p.replaceAll('\n', ' ')}`);
    }
  }
  lines.push(`## Known differences (${known.filter((l) => l.startsWith('- ')).length})`);
  lines.push('');
  lines.push("Gaps of the platform where an executor cannot give the row's answer; they are not a second right answer.");
  lines.push('');
  lines.push(...(known.length > 0 ? known : ['None.']));
  lines.push('');
  lines.push('## Expected answers chosen where the documents are silent');
  lines.push('');
  lines.push(
    `- Limits used: output cap FAAS_MAX_OUTPUT_BYTES=${OUTPUT_CAP}, /tmp FAAS_TMP_SIZE_MB=${TMP_MB}, default memory 256 MiB, ` +
      `pool spares FAAS_POOL_MIN_IDLE=1 and FAAS_POOL_MAX_IDLE=${POOL_MAX_IDLE} (the idle check allows at most that many sandboxes).`,
  );
  for (const row of m.rows) if (row.note) lines.push(`- **${row.id}**: ${row.note}`);
  lines.push('');
  return `${lines.join('\n')}`;
}
