/**
 * The conformance matrix: every row of rows.ts sent over HTTP to a real `faas serve` process per
 * column of columns.ts (executor x pool mode), one column after another, each row expecting the
 * same answer everywhere. The table is printed to stderr at the end; a full run writes it into
 * docs/conformance.md only with TESTER_UPDATE_DOCS=1, which `npm run test:conformance` sets,
 * so that a test run (`npm test` runs this file too) never changes tracked files.
 *
 * CONFORMANCE_COLUMNS="docker-off,oci-crun-reuse" and CONFORMANCE_ROWS="stdin,cpu-spin" narrow a run;
 * TESTER_REQUIRE_EXECUTORS="docker,oci,gvisor,qemu" fails (not skips) a column of those that cannot run;
 * a narrowed run never writes docs/conformance.md. Any run writes its table to $CONFORMANCE_OUT
 * when that is set and docs/conformance.md is not being written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ResourceLimitsInput, SandboxConfig } from '@faas/common';
import { type RunningServer, startServe } from '../support/cli.js';
import { waitForNoSurvivor } from '../support/docker.js';
import { HttpClient } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { REPO_ROOT } from '../support/paths.js';
import { COLUMNS, type Column, POOL_MAX_IDLE, SHARED_ENV } from './columns.js';
import { type Answer, call, compare, type Expect, ok } from './expect.js';
import { DOCKER_GET, dockerApi, type Footprint, type Platform, processesNaming, waitForFootprint } from './leftovers.js';
import { type Cell, renderMatrix } from './report.js';
import { ROWS, type Row, type RowContext } from './rows.js';

const COMMAND = 'npm run test:conformance';
const ROW_CONCURRENCY = 2;
/** See RowContext.settle: long enough for a reset, even of a VM under software emulation. */
const SETTLE_MS = 1500;

const norm = (s: string): string => s.trim().toLowerCase().replaceAll(' ', '-');
const pick = (variable: string): string[] | undefined =>
  process.env[variable]
    ?.split(',')
    .map(norm)
    .filter((s) => s.length > 0);
const wantedColumns = pick('CONFORMANCE_COLUMNS');
const wantedRows = pick('CONFORMANCE_ROWS');
const columns = COLUMNS.filter((c) => !wantedColumns || wantedColumns.includes(norm(c.id)));
const rows = ROWS.filter((r) => !wantedRows || wantedRows.includes(r.id));

const cells = new Map<string, Map<string, Cell>>();
const seconds = new Map<string, number>();
const runStarted = performance.now();

function record(rowId: string, column: Column, problems: string[], notRun?: string, knownDifference?: string): void {
  let byColumn = cells.get(rowId);
  if (!byColumn) {
    byColumn = new Map();
    cells.set(rowId, byColumn);
  }
  const text =
    notRun !== undefined
      ? `not run: ${notRun}`
      : problems.length === 0
        ? 'pass'
        : knownDifference !== undefined
          ? 'known difference (below)'
          : `FAIL: ${problems[0]}`;
  byColumn.set(column.id, { text, problems, ...(knownDifference !== undefined && problems.length > 0 ? { knownDifference } : {}) });
}

/** Lists every process command line in the sandbox, without naming any marker itself. */
const LISTER = ['sh', '-c', 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f"; echo; done 2>/dev/null; true'];

/** One column: its platform process, its scratch folder (the platform's TMPDIR) and its checks. */
class ColumnRun {
  server: RunningServer | undefined;
  client: HttpClient | undefined;
  startError: string | undefined;
  readonly scratch = mkdtempSync('/tmp/fcf-');
  started = 0;

  constructor(readonly column: Column) {}

  async start(): Promise<void> {
    this.started = performance.now();
    try {
      this.server = await startServe(
        { ...SHARED_ENV, ...this.column.env, TMPDIR: this.scratch, FAAS_LOG_LEVEL: 'warn,bin=info' },
        this.column.executor === 'qemu' || this.column.executor === 'firecracker' ? 180_000 : 60_000,
      );
      this.client = new HttpClient(this.server.url);
    } catch (err) {
      this.startError = (err as Error).message.slice(0, 400);
    }
  }

  /** What the leftover checks look for: this column's platform process and its sandboxes. */
  private platform(pid: number): Platform {
    return { pid, kind: this.column.executor, ociRuntime: this.column.env.FAAS_OCI_RUNTIME, scratch: this.scratch };
  }

  async runRow(row: Row): Promise<string[]> {
    const client = this.client;
    if (!client) return [`platform did not start: ${this.startError}`];
    const problems: string[] = [];
    const executor = this.column.executor;
    const pid = this.server?.pid ?? 0;
    const fnId = (fn: string) => `cf-${row.id}-${fn}`;
    const step = async (label: string, fn: string, body: SandboxConfig, want: Expect): Promise<Answer | undefined> => {
      const prefix = label ? `${label}: ` : '';
      try {
        const answer = await call(client, fnId(fn), body, (body.timeout_ms ?? 30_000) + 60_000);
        problems.push(...compare(answer, want, executor).map((p) => prefix + p));
        return answer;
      } catch (err) {
        problems.push(`${prefix}${(err as Error).message.split('\n').slice(0, 2).join(' ').slice(0, 200)}`);
        return undefined;
      }
    };
    const ctx: RowContext = {
      step,
      settle: () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS)),
      async noSurvivor(marker: string, fn: string, image: string, limits?: ResourceLimitsInput) {
        // Not gvisor: the engine's top of a runsc container runs the host's ps over runsc's
        // in-sandbox pids (1, 2, 3 ...), so it lists the host's first processes instead of the
        // sandbox's and could never see a survivor. The listing from inside, below, does.
        if (executor === 'docker') {
          const left = await waitForNoSurvivor(marker, { 'dev.faas.pid': String(pid) }, 10_000);
          if (left.length > 0) problems.push(`"${marker}" still running on the host: ${left[0]}`);
        }
        const body: SandboxConfig = { image, command: LISTER, ...(limits ? { limits } : {}) };
        const seen = (out: Buffer) => {
          const hit = out
            .toString()
            .split('\n')
            .find((line) => line.includes(marker));
          return hit ? `shows a survivor: ${JSON.stringify(hit.trim())}` : undefined;
        };
        // Twice: a reuse pool may alternate between two sandboxes of the function.
        for (const label of ['next invocation', 'the one after']) {
          await ctx.settle();
          await step(label, fn, body, ok(seen, { stderr: undefined }));
        }
      },
    };
    try {
      await row.run(ctx);
    } catch (err) {
      problems.push(`row threw: ${(err as Error).message}`);
    }
    // The platform must still serve after whatever the row did.
    try {
      const control = await call(client, 'cf-control', { image: BUSYBOX, command: ['echo', 'ok'] }, 90_000);
      problems.push(...compare(control, ok('ok\n'), executor).map((p) => `control echo ok: ${p}`));
    } catch (err) {
      problems.push(`control echo ok: ${(err as Error).message.slice(0, 200)}`);
    }
    return problems;
  }

  /**
   * The column runs the pool mode it names: of four invocations of one function in a row, some
   * run in the sandbox of an earlier one in reuse mode, none otherwise. A sandbox is known by its pid 1 (start time and
   * command line), its kernel's boot id (VMs), its overlay upper dir (docker) and its /tmp's device
   * (a tmpfs of its own: oci sandboxes share a read-only root, and two spares can start in the
   * same clock tick); a reused one also
   * keeps counting pids where the last invocation stopped, a fresh one starts the count again.
   */
  async mode(): Promise<string[]> {
    const client = this.client;
    if (!client) return [`platform did not start: ${this.startError}`];
    const script = [
      'echo "$(cut -d " " -f 22 /proc/1/stat)',
      '$(tr "\\0" " " </proc/1/cmdline | cut -c 1-40)',
      '$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)',
      '$(grep -o "upperdir=[^,]*" /proc/self/mountinfo | head -n 1)',
      '$(awk \'$5 == "/tmp" { print $3 }\' /proc/self/mountinfo)',
      '$$"',
    ].join('|');
    const seen: Array<{ sandbox: string; pid: number }> = [];
    for (let i = 0; i < 4; i++) {
      try {
        const answer = await call(client, 'cf-mode', { image: BUSYBOX, command: ['sh', '-c', script] }, 90_000);
        const problems = compare(answer, ok(/\|\d+\n$/), this.column.executor);
        if (problems.length > 0) return problems.map((p) => `invocation ${i + 1}: ${p}`);
        const line = answer.stdout.toString().trim();
        const cut = line.lastIndexOf('|');
        seen.push({ sandbox: line.slice(0, cut), pid: Number(line.slice(cut + 1)) });
      } catch (err) {
        return [`invocation ${i + 1}: ${(err as Error).message.slice(0, 200)}`];
      }
    }
    // Pools may alternate between a function's sandboxes: compare with every earlier invocation.
    const reuses = seen.filter((s, i) => seen.slice(0, i).some((e) => e.sandbox === s.sandbox && e.pid < s.pid)).length;
    const trail = seen.map((s) => `${s.sandbox.slice(0, 24)}…|${s.pid}`).join(' -> ');
    if (this.column.mode === 'reuse' && reuses === 0) return [`no invocation of 4 in a row reused a sandbox (${trail})`];
    if (this.column.mode !== 'reuse' && reuses > 0)
      return [`${reuses} of 3 follow-up invocations ran in the previous one's sandbox (${trail})`];
    return [];
  }

  private describe(f: Footprint, limit: number): string[] {
    const problems: string[] = [];
    const over = (what: string, list: string[]) => {
      if (list.length > limit) problems.push(`${list.length} ${what} (want <= ${limit}): ${list.slice(0, 2).join('; ')}`);
    };
    over('containers', f.containers);
    over('run dir entries', f.runDir);
    over('VM state dirs', f.vmStateDirs);
    over('VMM processes', f.processes);
    return problems;
  }

  /** After the rows: nothing running, only spares (none with the pool off). */
  async idle(): Promise<string[]> {
    const client = this.client;
    const pid = this.server?.pid;
    if (!client || !pid) return [`platform did not start: ${this.startError}`];
    const problems: string[] = [];
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const res = await client.request('/ready');
        if (res.status === 200 && res.json<{ running: number }>().running === 0) break;
        if (Date.now() > deadline) {
          problems.push(`/ready never reported running=0: ${res.status} ${res.text.slice(0, 120)}`);
          break;
        }
      } catch (err) {
        problems.push(`/ready: ${(err as Error).message.slice(0, 120)}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const limit = this.column.mode === 'off' ? 0 : POOL_MAX_IDLE;
    const f = await waitForFootprint(this.platform(pid), (x) => this.describe(x, limit).length === 0, 20_000);
    problems.push(...this.describe(f, limit));
    return problems;
  }

  /** SIGTERM, exit 0, then nothing of the process left on the host. */
  async shutdown(): Promise<string[]> {
    const server = this.server;
    if (!server) return [`platform did not start: ${this.startError}`];
    this.server = undefined;
    const problems: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    try {
      const exit = await Promise.race([
        server.stop('SIGTERM'),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('did not exit within 60 s of SIGTERM')), 60_000);
        }),
      ]);
      if (exit.code !== 0) problems.push(`exited with ${exit.code ?? exit.signal}: ${exit.stderr.slice(-200)}`);
    } catch (err) {
      problems.push((err as Error).message);
      killPid(server.pid);
    } finally {
      clearTimeout(timer);
    }
    const f = await waitForFootprint(this.platform(server.pid), (x) => this.describe(x, 0).length === 0, 15_000);
    problems.push(...this.describe(f, 0).map((p) => `after exit: ${p}`));
    await this.sweep(server.pid);
    seconds.set(this.column.id, (performance.now() - this.started) / 1000);
    return problems;
  }

  /** Removes what a failed column left, so the next column starts on a clean host. */
  async sweep(pid: number): Promise<void> {
    for (const line of processesNaming(this.scratch)) killPid(Number(line.split(' ')[1]));
    const filter = encodeURIComponent(JSON.stringify({ label: ['dev.faas.managed=true', `dev.faas.pid=${pid}`] }));
    try {
      const res = await DOCKER_GET(`/containers/json?all=1&filters=${filter}`);
      for (const c of JSON.parse(res.body) as Array<{ Id: string }>) await dockerDelete(c.Id);
    } catch {
      // No engine: nothing to remove there.
    }
    rmSync(this.scratch, { recursive: true, force: true });
  }

  /** If the column ended early, the platform process must not outlive the run. */
  async abandon(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      killPid(server.pid);
      await this.sweep(server.pid);
    }
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function dockerDelete(id: string): Promise<void> {
  await dockerApi('DELETE', `/containers/${id}?force=1&v=1`, 20_000).catch(() => undefined);
}

function failIf(problems: string[]): void {
  if (problems.length > 0) assert.fail(problems.join('\n'));
}

/**
 * Executors whose columns must run (TESTER_REQUIRE_EXECUTORS, comma-separated; scripts/test.sh
 * names every executor this host's set-up provides): a column of one that cannot run fails with its
 * reason instead of being skipped, so a set-up fault never turns the matrix into "not run".
 */
const requiredExecutors = new Set(
  (process.env.TESTER_REQUIRE_EXECUTORS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

for (const column of columns) {
  const reason = await column.unavailable();
  if (reason && requiredExecutors.has(column.executor)) {
    describe(`conformance: ${column.id}`, () => {
      it('runs', () => assert.fail(`${column.id} could not run: ${reason} (TESTER_REQUIRE_EXECUTORS requires ${column.executor})`));
    });
    continue;
  }
  if (reason) {
    for (const id of ['start', 'mode', ...rows.map((r) => r.id), 'idle', 'shutdown']) record(id, column, [], reason);
    describe(`conformance: ${column.id}`, { skip: `not run: ${reason}` }, () => {});
    continue;
  }
  describe(`conformance: ${column.id}`, () => {
    const run = new ColumnRun(column);
    before(() => run.start());
    after(() => run.abandon());

    it('start: platform process starts', () => {
      const problems = run.startError ? [`did not start: ${run.startError}`] : [];
      record('start', column, problems);
      failIf(problems);
    });

    it('mode: the column runs the pool mode it names', async () => {
      const problems = await run.mode();
      record('mode', column, problems);
      failIf(problems);
    });

    describe('rows', { concurrency: ROW_CONCURRENCY }, () => {
      for (const row of rows) {
        it(`${row.id}: ${row.title}`, async () => {
          const problems = await run.runRow(row);
          const known = row.knownDifferences?.[column.kernel];
          record(row.id, column, problems, undefined, known);
          if (known === undefined) failIf(problems);
        });
      }
    });

    it('idle: only pool spares remain', async () => {
      const problems = await run.idle();
      record('idle', column, problems);
      failIf(problems);
    });

    it('shutdown: nothing left', async () => {
      const problems = await run.shutdown();
      record('shutdown', column, problems);
      failIf(problems);
    });
  });
}

after(() => {
  const markdown = renderMatrix({
    columns,
    rows,
    cells,
    seconds,
    totalSeconds: (performance.now() - runStarted) / 1000,
    command: COMMAND,
  });
  const narrowed = wantedColumns !== undefined || wantedRows !== undefined;
  const updateDocs = process.env.TESTER_UPDATE_DOCS === '1' && !narrowed;
  const target = updateDocs ? join(REPO_ROOT, 'docs', 'conformance.md') : process.env.CONFORMANCE_OUT;
  if (target) writeFileSync(target, markdown);
  process.stderr.write(`\n${markdown}\n`);
  if (narrowed && process.env.TESTER_UPDATE_DOCS === '1') {
    process.stderr.write('# a narrowed run does not write docs/conformance.md (TESTER_UPDATE_DOCS=1 ignored)\n');
  }
});
