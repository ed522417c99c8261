/**
 * The rows of the conformance matrix: requests a user sends, each with the one answer every
 * executor and pool mode must give. Expected answers come from README.md, docs/isolation.md and
 * docs/ERRORS.md; where those are silent the choice is written next to the row (and in the notes
 * of docs/conformance.md).
 */
import { createHash } from 'node:crypto';
import type { ResourceLimitsInput, SandboxConfig } from '@faas/common';
import { tagImage, untagImage } from '../support/docker.js';
import { BUSYBOX, PYTHON } from '../support/images.js';
import { type Kernel, OUTPUT_CAP, TMP_MB } from './columns.js';
import { type Answer, bySignal, type Expect, exited, MEMORY, NO_ERROR, naming, ok, type ResultExpect } from './expect.js';

export interface RowContext {
  /**
   * Invokes function `fn` of this row (ids are made unique per row) and compares the answer.
   * `label` prefixes the mismatches of a row with several steps.
   */
  step(label: string, fn: string, body: SandboxConfig, want: Expect): Promise<Answer | undefined>;
  /**
   * Checks that no process whose command line contains `marker` is left: in any container of
   * this platform (container executors), and as seen from the next invocation of the same
   * function (same image and limits, so reuse mode hands it the same sandbox).
   */
  noSurvivor(marker: string, fn: string, image: string, limits?: ResourceLimitsInput): Promise<void>;
  /**
   * Waits until the last sandbox has most likely been reset and parked: in reuse mode the pool
   * hands out the most recently parked sandbox, so the next call then lands in the one just used
   * rather than in a spare started meanwhile.
   */
  settle(): Promise<void>;
}

export interface Row {
  id: string;
  group: 'ordinary' | 'hostile';
  title: string;
  /** Where the documentation is silent: the answer chosen, and why. */
  note?: string;
  /**
   * Kernels that cannot give the row's answer, each with the reason (the mechanism underneath,
   * documented in docs/isolation.md): a column whose functions run on that kernel (Column.kernel:
   * gVisor's is met under the gvisor executor and under oci with runsc alike) and differs is
   * reported as a known difference instead of a failure; one that agrees is a pass. Every entry
   * is a gap of the platform, listed in docs/conformance.md, not a second right answer.
   */
  knownDifferences?: Partial<Record<Kernel, string>>;
  run(ctx: RowContext): Promise<void>;
}

const sh = (script: string): string[] => ['sh', '-c', script];
const b64 = (data: string | Buffer): string => Buffer.from(data).toString('base64');

/** How long the retag row leaves the platform to hear of an image change from the engine (ms). */
const IMAGE_CHANGE_GRACE_MS = 500;

/** A deterministic 4,000,000-byte payload (every byte value occurs). */
function largePayload(): Buffer {
  const buf = Buffer.alloc(4_000_000);
  let x = 0x12345678;
  for (let i = 0; i < buf.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    buf[i] = x >>> 24;
  }
  return buf;
}

/** Two answers for the flood rows: the first OUTPUT_CAP bytes of `yes`, exactly. */
const YES_CAPPED = 'y\n'.repeat(OUTPUT_CAP / 2);

/** A 504 for a function that ran past its timeout; within the timeout plus a generous kill margin. */
function timedOut(timeoutMs: number): Expect {
  return { status: 504, code: 'FAAS_ERR_TIMEOUT', withinMs: timeoutMs + 15_000 };
}

/** Killed for exceeding its memory limit: no exit code, SIGKILL, an error that says memory. */
const MEMORY_KILL: ResultExpect = { status: 200, exit: null, signal: 'SIGKILL', error: MEMORY, truncated: false, stdout: '' };

export const ROWS: Row[] = [
  {
    id: 'stdin',
    group: 'ordinary',
    title: 'stdin round trip through cat (text, NUL, 0xff, CRLF)',
    async run(ctx) {
      const payload = Buffer.concat([Buffer.from('hello\nworld\n'), Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]), Buffer.from('ünï\r\n')]);
      await ctx.step('', 'a', { image: BUSYBOX, command: ['cat'], payload_base64: b64(payload) }, ok(payload));
    },
  },
  {
    id: 'binary',
    group: 'ordinary',
    title: "binary output and invalid UTF-8 (printf '\\377\\376\\000' on stdout and stderr)",
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: sh("printf '\\377\\376\\000'; printf '\\000\\377\\200' >&2") },
        ok(Buffer.from([0xff, 0xfe, 0x00]), { stderr: Buffer.from([0x00, 0xff, 0x80]) }),
      );
    },
  },
  {
    id: 'env',
    group: 'ordinary',
    title: 'env vars visible (spaces, empty value, "=" in value), unset stays unset',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        {
          image: BUSYBOX,
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
          command: sh('printf "%s|%s|%s|%s" "$GREETING" "${EMPTY-unset}" "$EQUALS" "${NOT_SET-unset}"'),
          env_vars: ['GREETING=hello world', 'EMPTY=', 'EQUALS=a=b'],
        },
        ok('hello world||a=b|unset'),
      );
    },
  },
  {
    id: 'exit-codes',
    group: 'ordinary',
    title: 'exit codes 0 / 3 / 255, with the output of a failing function kept',
    async run(ctx) {
      await ctx.step('exit 0', 'a', { image: BUSYBOX, command: sh('exit 0') }, ok(''));
      await ctx.step(
        'exit 3',
        'a',
        { image: BUSYBOX, command: sh('echo out; echo err >&2; exit 3') },
        exited(3, { stdout: 'out\n', stderr: 'err\n' }),
      );
      await ctx.step('exit 255', 'a', { image: BUSYBOX, command: sh('exit 255') }, exited(255, { stdout: '', stderr: '' }));
    },
  },
  {
    id: 'not-found',
    group: 'ordinary',
    title: 'command not found: exit 127, error names it',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: ['no-such-cmd-4711'] },
        { status: 200, exit: 127, signal: null, error: naming('no-such-cmd-4711'), truncated: false, stdout: '' },
      );
    },
  },
  {
    id: 'not-executable',
    group: 'ordinary',
    title: 'a non-executable file as the command: exit 126, error names it',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: ['/etc/passwd'] },
        { status: 200, exit: 126, signal: null, error: naming('/etc/passwd'), truncated: false, stdout: '' },
      );
    },
  },
  {
    id: 'sigterm',
    group: 'ordinary',
    title: 'killed by a signal: kill -TERM $$ -> signal SIGTERM, exit_code null',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: sh('kill -TERM $$') },
        { status: 200, exit: null, signal: 'SIGTERM', error: bySignal('SIGTERM'), truncated: false, stdout: '', stderr: '' },
      );
    },
  },
  {
    id: 'sigabrt',
    group: 'ordinary',
    title: 'python os.abort() -> signal SIGABRT, exit_code null',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: PYTHON, command: ['python3', '-c', 'import os; os.abort()'] },
        { status: 200, exit: null, signal: 'SIGABRT', error: bySignal('SIGABRT'), truncated: false, stdout: '', stderr: '' },
      );
    },
  },
  {
    id: 'threads',
    group: 'ordinary',
    title: 'python starts 8 threads and joins them -> each ran, exit 0',
    note: "Threads are clone3 (glibc 2.34+) with a fall-back to clone on ENOSYS only. The engine's default seccomp profile answers clone3 with ENOSYS through errnoRet, which Debian 12's runsc ignores (EPERM): under gVisor no function could start a thread until gVisor sandboxes got containers-common's profile (docs/SECURITY.md).",
    async run(ctx) {
      const threads = [
        'import threading',
        'seen = []',
        'ts = [threading.Thread(target=seen.append, args=(i,)) for i in range(8)]',
        '[t.start() for t in ts]',
        '[t.join() for t in ts]',
        'print(sorted(seen))',
      ].join('\n');
      await ctx.step('', 'a', { image: PYTHON, command: ['python3', '-c', threads] }, ok('[0, 1, 2, 3, 4, 5, 6, 7]\n'));
    },
  },
  {
    id: 'exit-134',
    group: 'ordinary',
    title: "sh -c 'exit 134' -> exit_code 134, signal null (not mistaken for SIGABRT)",
    async run(ctx) {
      await ctx.step('', 'a', { image: BUSYBOX, command: sh('exit 134') }, exited(134, { stdout: '', stderr: '' }));
    },
  },
  {
    id: 'large-payload',
    group: 'ordinary',
    title: '4,000,000-byte payload: wc -c says 4000000, md5sum matches',
    async run(ctx) {
      const payload = largePayload();
      const md5 = createHash('md5').update(payload).digest('hex');
      await ctx.step('wc -c', 'a', { image: BUSYBOX, command: ['wc', '-c'], payload_base64: b64(payload) }, ok('4000000\n'));
      await ctx.step('md5sum', 'a', { image: BUSYBOX, command: ['md5sum'], payload_base64: b64(payload) }, ok(`${md5}  -\n`));
    },
  },
  {
    id: 'empty-stdin',
    group: 'ordinary',
    title: 'empty stdin: payload omitted, "" and null all read as 0 bytes',
    async run(ctx) {
      await ctx.step('omitted', 'a', { image: BUSYBOX, command: ['wc', '-c'] }, ok('0\n'));
      await ctx.step('""', 'a', { image: BUSYBOX, command: ['wc', '-c'], payload_base64: '' }, ok('0\n'));
      await ctx.step('null', 'a', { image: BUSYBOX, command: ['wc', '-c'], payload_base64: null }, ok('0\n'));
    },
  },

  {
    id: 'fork-bomb',
    group: 'hostile',
    title: 'fork bomb under limits.pids 32: the command returns, forks stop below the limit, nothing survives',
    note: 'The bomb runs in a subshell that returns at once, after which the command prints "started" (no fork needed) and exits 0; the bomb\'s descendants outlive it, so the answer is the "outliving processes" one: a prompt 200 with exit 0 and nothing left afterwards. stderr (fork failures) is not compared.',
    async run(ctx) {
      const limits = { pids: 32 };
      await ctx.step(
        'bomb',
        'a',
        { image: BUSYBOX, command: sh('( f() { f | f & }; f ); echo started'), limits, timeout_ms: 10_000 },
        { status: 200, exit: 0, signal: null, error: NO_ERROR, truncated: false, stdout: 'started\n' },
      );
      await ctx.noSurvivor('f | f', 'a', BUSYBOX, limits);
      const forker = [
        'import os, time',
        'n = 0',
        'kids = []',
        'for _ in range(100):',
        '    try:',
        '        pid = os.fork()',
        '    except OSError:',
        '        break',
        '    if pid == 0:',
        '        time.sleep(2)',
        '        os._exit(0)',
        '    kids.append(pid)',
        'for pid in kids:',
        '    os.waitpid(pid, 0)',
        'print(len(kids))',
      ].join('\n');
      await ctx.step(
        'count',
        'b',
        { image: PYTHON, command: ['python3', '-c', forker], limits },
        ok((out) => {
          const n = Number(out.toString().trim());
          return Number.isInteger(n) && n >= 1 && n < 32 ? undefined : `forked ${JSON.stringify(out.toString())} children (want 1..31)`;
        }),
      );
    },
  },
  {
    id: 'memory-main',
    group: 'hostile',
    title: 'memory bomb in the main process (400 MiB under the default 256 MiB): the memory-limit answer',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: PYTHON, command: ['python3', '-c', 'b = bytearray(b"x") * (400 << 20); print("survived")'], timeout_ms: 20_000 },
        { ...MEMORY_KILL, stderr: '' },
      );
    },
  },
  {
    id: 'memory-child',
    knownDifferences: {
      gvisor:
        'a gVisor sandbox is one process tree in one host memory cgroup and this runsc has no OOM killer of its own: the host kills the whole sandbox at the limit, so the invocation ends with the memory-limit answer',
    },
    group: 'hostile',
    title: 'memory bomb in a child process: the child dies (137), the function carries on and exits 0',
    note: 'The function itself exited 0, so `error` is null (InvocationResult.error: "Null when the command ran and exited 0").',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: PYTHON, command: sh('python3 -c \'s = "x" * (400 << 20)\'; echo "after $?"'), timeout_ms: 20_000 },
        { status: 200, exit: 0, signal: null, error: NO_ERROR, truncated: false, stdout: 'after 137\n' },
      );
    },
  },
  {
    id: 'memory-shell',
    group: 'hostile',
    title: 'a shell variable doubled past the memory limit: the memory-limit answer',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: sh('x=0123456789abcdef; while :; do x="$x$x"; done'), timeout_ms: 20_000 },
        MEMORY_KILL,
      );
    },
  },
  {
    id: 'cpu-spin',
    group: 'hostile',
    title: 'CPU spin past timeout_ms 3000 with TERM and INT ignored: 504 FAAS_ERR_TIMEOUT, nothing survives',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: sh('trap "" TERM INT; while :; do :; done # spin-5512'), timeout_ms: 3000 },
        timedOut(3000),
      );
      await ctx.noSurvivor('spin-5512', 'a', BUSYBOX);
    },
  },
  {
    id: 'stdout-flood',
    group: 'hostile',
    title: `stdout flood (yes | head -c 1000000): capped at FAAS_MAX_OUTPUT_BYTES (${OUTPUT_CAP}), truncated, exit 0`,
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: sh('yes | head -c 1000000') },
        { status: 200, exit: 0, signal: null, error: NO_ERROR, truncated: true, stdout: YES_CAPPED, stderr: '' },
      );
    },
  },
  {
    id: 'stderr-flood',
    group: 'hostile',
    title: 'stderr flood (yes | head -c 1000000 >&2): capped, truncated, exit 0',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: sh('yes | head -c 1000000 >&2') },
        { status: 200, exit: 0, signal: null, error: NO_ERROR, truncated: true, stdout: '', stderr: YES_CAPPED },
      );
    },
  },
  {
    id: 'stdout-flood-endless',
    group: 'hostile',
    title: 'endless stdout flood (yes) with timeout_ms 3000: 504 FAAS_ERR_TIMEOUT',
    note: 'The output cap cuts what is kept, not the function (README: capped, with a truncated flag); a function still running at its timeout is a 504.',
    async run(ctx) {
      await ctx.step('', 'a', { image: BUSYBOX, command: ['yes', 'flood-6021'], timeout_ms: 3000 }, timedOut(3000));
      await ctx.noSurvivor('flood-6021', 'a', BUSYBOX);
    },
  },
  {
    id: 'stderr-flood-endless',
    group: 'hostile',
    title: 'endless stderr flood (yes >&2) with timeout_ms 3000: 504 FAAS_ERR_TIMEOUT',
    async run(ctx) {
      await ctx.step('', 'a', { image: BUSYBOX, command: sh('yes flood-6022 >&2'), timeout_ms: 3000 }, timedOut(3000));
      await ctx.noSurvivor('flood-6022', 'a', BUSYBOX);
    },
  },
  {
    id: 'tmp-fill',
    group: 'hostile',
    title: `disk fill of /tmp (FAAS_TMP_SIZE_MB=${TMP_MB}): ENOSPC for the function, not a platform fault`,
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: sh('dd if=/dev/zero of=/tmp/fill bs=65536 count=320; echo "rc=$?"; wc -c < /tmp/fill') },
        ok(
          (out) => {
            const m = /^rc=1\n(\d+)\n$/.exec(out.toString());
            const size = Number(m?.[1]);
            return m && size > 0 && size <= TMP_MB * 1048576
              ? undefined
              : `${JSON.stringify(out.toString())} (want rc=1 and 1..${TMP_MB} MiB written)`;
          },
          { stderr: /No space left on device/ },
        ),
      );
    },
  },
  {
    id: 'inode-fill',
    knownDifferences: {
      gvisor: "gVisor's own tmpfs ignores nr_inodes: /tmp has no inode cap, so empty files are bounded only by the sandbox's memory limit",
    },
    group: 'hostile',
    title: 'inode fill of /tmp (empty files until failure): ENOSPC before 100,000 files',
    note: 'The documents bound /tmp by size only. A tmpfs without an inode cap lets empty files pin kernel memory without bound, so the answer chosen is ENOSPC from an inode limit, reached before 100,000 files.',
    async run(ctx) {
      const script = [
        'import errno, os',
        'n = 0',
        'try:',
        '    while n < 100000:',
        "        os.close(os.open('/tmp/i%d' % n, os.O_CREAT | os.O_WRONLY, 0o600))",
        '        n += 1',
        "    print('no limit')",
        'except OSError as e:',
        '    print(errno.errorcode[e.errno])',
      ].join('\n');
      await ctx.step('', 'a', { image: PYTHON, command: ['python3', '-c', script], timeout_ms: 30_000 }, ok('ENOSPC\n'));
    },
  },
  {
    id: 'readonly-root',
    group: 'hostile',
    title: 'writes to / and /usr fail (read-only root mounted ro): touch exits 1',
    note: 'The write must fail; EROFS and EACCES are both accepted (gVisor checks permissions before the read-only flag). That the root is read-only is checked on its mount options instead.',
    async run(ctx) {
      await ctx.step(
        'mount',
        'a',
        { image: BUSYBOX, command: sh("awk '$2 == \"/\" { o = $4 } END { print o }' /proc/mounts | tr , '\\n' | grep -x ro") },
        ok('ro\n'),
      );
      for (const path of ['/probe', '/usr/probe']) {
        await ctx.step(
          path,
          'a',
          { image: BUSYBOX, command: ['touch', path] },
          exited(1, { stdout: '', stderr: new RegExp(`^touch: ${path}: (Read-only file system|Permission denied)\n$`) }),
        );
      }
    },
  },
  {
    id: 'network',
    group: 'hostile',
    title: 'no network: only lo, nc and a python socket cannot connect out',
    async run(ctx) {
      await ctx.step('interfaces', 'a', { image: BUSYBOX, command: ['ls', '/sys/class/net'] }, ok('lo\n'));
      await ctx.step(
        'nc',
        'a',
        { image: BUSYBOX, command: sh('nc -w 2 1.1.1.1 80 </dev/null') },
        exited(1, { stdout: '', stderr: /can't connect to remote host/ }),
      );
      const script = [
        'import socket',
        's = socket.socket()',
        's.settimeout(3)',
        'try:',
        "    s.connect(('1.1.1.1', 80))",
        "    print('connected')",
        'except OSError:',
        "    print('refused')",
      ].join('\n');
      await ctx.step('python', 'b', { image: PYTHON, command: ['python3', '-c', script] }, ok('refused\n'));
    },
  },
  {
    id: 'proc-sys',
    group: 'hostile',
    title: '/proc and /sys probes: sysrq-trigger, /proc/sys, /sys/kernel cannot be opened for writing',
    async run(ctx) {
      const targets = [
        '/proc/sysrq-trigger',
        '/proc/sys/kernel/panic',
        '/proc/sys/vm/drop_caches',
        '/sys/kernel/uevent_helper',
        '/sys/kernel/mm/transparent_hugepage/enabled',
      ];
      // `: > f` only opens for writing (writes nothing): harmless even where it succeeds.
      const script = `for f in ${targets.join(' ')}; do if (: > "$f") 2>/dev/null; then echo "$f written"; else echo "$f refused"; fi; done`;
      await ctx.step('', 'a', { image: BUSYBOX, command: sh(script) }, ok(targets.map((t) => `${t} refused\n`).join('')));
    },
  },
  {
    id: 'privilege',
    group: 'hostile',
    title: 'no privilege: uid/gid 65534, no capabilities, NoNewPrivs; setuid su and setuid() fail',
    async run(ctx) {
      await ctx.step(
        'ids',
        'a',
        { image: BUSYBOX, command: sh('id -u; id -g; grep "^CapEff:" /proc/self/status; setpriv -d 2>/dev/null | grep "^no_new_privs:"') },
        ok('65534\n65534\nCapEff:\t0000000000000000\nno_new_privs: 1\n'),
      );
      // Debian's su is setuid root; no-new-privileges must keep it from gaining root.
      await ctx.step('su', 'b', { image: PYTHON, command: ['su', '-c', 'id -u', 'root'] }, exited(1, { stdout: '' }));
      const script = [
        'import os',
        "for name, call in (('setuid', lambda: os.setuid(0)), ('setgid', lambda: os.setgid(0)), ('setgroups', lambda: os.setgroups([0]))):",
        '    try:',
        '        call()',
        "        print(name, 'succeeded')",
        '    except PermissionError:',
        "        print(name, 'EPERM')",
      ].join('\n');
      await ctx.step(
        'setuid',
        'b',
        { image: PYTHON, command: ['python3', '-c', script] },
        ok('setuid EPERM\nsetgid EPERM\nsetgroups EPERM\n'),
      );
    },
  },
  {
    id: 'seccomp',
    group: 'hostile',
    title: 'the command runs under a seccomp filter (Seccomp: 2 in /proc/self/status), gVisor included',
    knownDifferences: {
      guest: 'a VM guest runs no seccomp filter of its own: the VM is the boundary (docs/SECURITY.md, known gaps)',
    },
    async run(ctx) {
      // proc(5): 2 is SECCOMP_MODE_FILTER. Under gVisor the filter is the config's profile,
      // enforced by the Sentry only when runsc runs with --oci-seccomp.
      await ctx.step('', 'a', { image: BUSYBOX, command: sh('grep "^Seccomp:" /proc/self/status') }, ok('Seccomp:\t2\n'));
    },
  },
  {
    id: 'outlive',
    group: 'hostile',
    title: 'a background process holding stdout (sleep 1037 & echo started): prompt answer, sleeper gone',
    note: 'README: the answer comes when the command exits; the documents promise every process of the invocation is killed, so a background child holding the output pipe must neither delay the answer nor survive.',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: sh('sleep 1037 & echo started'), timeout_ms: 15_000 },
        ok('started\n', { withinMs: 8000 }),
      );
      await ctx.noSurvivor('sleep 1037', 'a', BUSYBOX);
    },
  },
  {
    id: 'daemonize',
    group: 'hostile',
    title: 'a daemon (setsid, stdio closed) started by the command: prompt answer, daemon gone',
    async run(ctx) {
      await ctx.step(
        '',
        'a',
        { image: BUSYBOX, command: sh('setsid sleep 1038 </dev/null >/dev/null 2>&1 & echo started'), timeout_ms: 15_000 },
        ok('started\n', { withinMs: 8000 }),
      );
      await ctx.noSurvivor('sleep 1038', 'a', BUSYBOX);
    },
  },
  {
    id: 'daemons-escaped',
    group: 'hostile',
    title:
      'daemons surely out of the group before the command exits (setsid, a double fork, a setsid respawner still forking): answer, all gone',
    note: "The daemonize row races setsid against the kill of the command's group when it exits, so it only sometimes leaves a daemon behind; here the command waits until each has escaped, and the respawner keeps starting new ones while the sandbox is reset. Under gVisor the agent cannot be a child subreaper (runsc refuses PR_SET_CHILD_SUBREAPER): escaped daemons go to the sandbox's PID 1, where only a reset that kills every process of the sandbox's PID namespace finds them (docs/isolation.md).",
    async run(ctx) {
      const script = [
        'setsid sleep 1039 </dev/null >/dev/null 2>&1 &',
        "(setsid sh -c 'sleep 1039 & exec sleep 1039' </dev/null >/dev/null 2>&1 &)",
        "setsid sh -c 'while :; do setsid sleep 1039 </dev/null >/dev/null 2>&1 & sleep 0.05; done' </dev/null >/dev/null 2>&1 &",
        'sleep 0.5; echo started',
      ].join('\n');
      await ctx.step('', 'a', { image: BUSYBOX, command: sh(script), timeout_ms: 15_000 }, ok('started\n', { withinMs: 8000 }));
      await ctx.noSurvivor('sleep 1039', 'a', BUSYBOX);
    },
  },
  {
    id: 'ipc',
    group: 'hostile',
    title: 'IPC objects (/dev/shm file, /dev/mqueue queue, SysV shm segment): /dev/shm and SysV usable, none seen later by A or B',
    note: 'docs/isolation.md ("Every writable place, per sandbox"): /dev/shm is a writable, size-capped tmpfs (POSIX shared memory, which python multiprocessing needs) and System V IPC is usable; a plain write to /dev/mqueue is refused (queues are made with mq_open). Each is data the next invocation could read, like a file in /tmp, so neither a later invocation of the same function (reuse: RESET empties them) nor another function sees one.',
    async run(ctx) {
      const create = [
        'if (echo data > /dev/shm/f) 2>/dev/null; then echo "shm written"; else echo "shm refused"; fi',
        'if (echo data > /dev/mqueue/q) 2>/dev/null; then echo "mqueue written"; else echo "mqueue refused"; fi',
        'if ipcmk -M 1024 >/dev/null 2>&1; then echo "sysv created"; else echo "sysv refused"; fi',
      ].join('\n');
      await ctx.step('create', 'a', { image: PYTHON, command: sh(create) }, ok('shm written\nmqueue refused\nsysv created\n'));
      const look = sh('ls -A /dev/shm /dev/mqueue 2>/dev/null | grep -v -e "^/dev" -e "^$"; ipcs -m | grep -c "^0x"; true');
      // Twice: a reuse pool may alternate between two sandboxes of the function.
      for (const label of ['A again', 'A once more']) {
        await ctx.settle();
        await ctx.step(label, 'a', { image: PYTHON, command: look }, ok('0\n'));
      }
      await ctx.step('B', 'b', { image: PYTHON, command: look }, ok('0\n'));
    },
  },
  {
    id: 'state',
    group: 'hostile',
    title: 'state left for the next invocation: /tmp files (hidden too), /dev/shm, env and stdin unseen by A again and by B',
    async run(ctx) {
      const leave = [
        'echo secret > /tmp/x',
        'mkdir /tmp/.d && echo secret > /tmp/.d/y',
        '(echo secret > /dev/shm/x) 2>/dev/null',
        'cat > /tmp/stdin-copy',
        'echo done',
      ].join('; ');
      await ctx.step(
        'leave',
        'a',
        { image: BUSYBOX, command: sh(leave), env_vars: ['SECRET_A=1'], payload_base64: b64('payload-a') },
        ok('done\n'),
      );
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      const look = sh('ls -A /tmp; ls -A /dev/shm 2>/dev/null; echo "${SECRET_A-unset}"; cat; echo end');
      // Twice: a reuse pool may alternate between two sandboxes of the function.
      for (const label of ['A again', 'A once more']) {
        await ctx.settle();
        await ctx.step(label, 'a', { image: BUSYBOX, command: look }, ok('unset\nend\n'));
      }
      await ctx.step('B', 'b', { image: BUSYBOX, command: look }, ok('unset\nend\n'));
    },
  },
  {
    id: 'retag',
    group: 'ordinary',
    title: 'an image name moved to another image between invocations (a rebuild): the next invocation runs the new image',
    note:
      'The engine reports the change as it happens; the row leaves it IMAGE_CHANGE_GRACE_MS to arrive. Spares and ' +
      'reuse-mode sandboxes of the old image are never handed out again (orchestrator/src/pool.ts).',
    async run(ctx) {
      const name = `faas-conformance/retag-${process.pid}-${Math.random().toString(36).slice(2, 8)}:latest`;
      const which = sh('if [ -e /usr/bin/python3 ]; then echo python; else echo busybox; fi');
      await tagImage(BUSYBOX, name);
      try {
        await ctx.step('before', 'a', { image: name, command: which }, ok('busybox\n'));
        // A spare of the name is ready (single-use), or the function's sandbox is parked (reuse).
        await ctx.settle();
        await tagImage(PYTHON, name);
        await new Promise((r) => setTimeout(r, IMAGE_CHANGE_GRACE_MS));
        for (const label of ['after', 'after, again']) {
          await ctx.step(label, 'a', { image: name, command: which }, ok('python\n'));
          await ctx.settle();
        }
      } finally {
        await untagImage(name);
      }
    },
  },
];
