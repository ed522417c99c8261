/**
 * The baseline build of `bench/compare.mjs`: a git ref checked out in a temporary worktree outside
 * the repository, with the current checkout's node_modules copied in (`cp -a`: the workspace
 * symlinks in node_modules/@faas are relative, so in the copy they point at the worktree's own
 * packages), guest-agent/target and .cache linked to the current checkout's (the guest agent and the
 * VM caches are not built per ref), and compiled with `npx tsc -b`. Every folder it makes is
 * `$TMPDIR/faas-compare-XXXXXX` with an owner.pid; one whose owner is gone is removed on the next run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'faas-compare-';

/** Runs a command; resolves its stdout, rejects with its stderr tail on a non-zero exit or after timeoutMs. */
export function runCommand(cmd, args, { cwd, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? code}) in ${cwd ?? '.'}:\n${(err || out).trim().slice(-2000)}`));
    });
  });
}

export const git = (root, args, timeoutMs) => runCommand('git', ['-C', root, ...args], { timeoutMs });

/** The commit a ref names, its short hash and subject; throws a readable error for an unknown ref. */
export async function resolveRef(root, ref) {
  let sha;
  try {
    sha = await git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new Error(`git ref "${ref}" does not name a commit in ${root}`);
  }
  const [short, subject] = (await git(root, ['log', '-1', '--format=%h%x00%s', sha])).split('\0');
  return { ref, sha, short, subject };
}

/** The default baseline: where HEAD left `main` (git merge-base HEAD main). */
export async function defaultBaseline(root) {
  try {
    return await git(root, ['merge-base', 'HEAD', 'main']);
  } catch {
    throw new Error('no --baseline given and `git merge-base HEAD main` found nothing: pass --baseline <ref>');
  }
}

/** The current checkout: HEAD, and whether tracked files differ from it (untracked ones are not counted). */
export async function describeCheckout(root) {
  const [short, subject] = (await git(root, ['log', '-1', '--format=%h%x00%s', 'HEAD'])).split('\0');
  const changed = await git(root, ['status', '--porcelain', '--untracked-files=no']);
  const state = await git(root, ['status']).catch(() => '');
  return {
    sha: await git(root, ['rev-parse', 'HEAD']),
    short,
    subject,
    dirty: changed !== '',
    changedFiles: changed ? changed.split('\n').length : 0,
    // A rebase or merge in progress: the candidate is whatever the working tree holds now.
    inProgress: /rebase in progress|You are currently rebasing|You have unmerged paths|All conflicts fixed/.test(state),
  };
}

/**
 * Removes compare folders (and their worktrees) left by runs whose process is gone; folders of a run
 * still alive are left alone. Returns the paths removed.
 */
export async function removeStaleTrees(root) {
  const removed = [];
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX))) {
    const dir = join(tmpdir(), name);
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {}
    if (Number.isInteger(owner) && alive(owner)) continue;
    await removeTree(root, dir).catch(() => {});
    removed.push(dir);
  }
  if (removed.length) await git(root, ['worktree', 'prune']).catch(() => {});
  return removed;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * Checks `sha` out under a new temporary folder and builds it. Returns { dir, tree, buildMs }; the
 * caller removes it with removeTree(root, dir) whatever happens (the folder exists from the first
 * step on, so a failed build is cleaned up too: the error carries `dir`).
 */
export async function prepareTree(root, sha, { log, buildTimeoutMs = 600_000 }) {
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const tree = join(dir, 'tree');
  try {
    await git(root, ['worktree', 'add', '--detach', tree, sha]);
    const sameLock = readFileSync(join(root, 'package-lock.json'), 'utf8') === readFileSync(join(tree, 'package-lock.json'), 'utf8');
    if (sameLock) {
      log(`baseline: copying node_modules into ${tree}`);
      await runCommand('cp', ['-a', join(root, 'node_modules'), join(tree, 'node_modules')], { timeoutMs: 300_000 });
    } else {
      // The ref depends on other packages: install its own lock (from npm's cache when it can).
      log(`baseline: npm ci in ${tree} (its package-lock.json differs from this checkout's)`);
      await runCommand('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: tree, timeoutMs: 600_000 });
    }
    for (const path of ['guest-agent/target', '.cache']) {
      const from = join(root, path);
      if (existsSync(from) && !existsSync(join(tree, path))) symlinkSync(realpathSync(from), join(tree, path));
    }
    log('baseline: npx tsc -b');
    const t0 = performance.now();
    await runCommand('npx', ['tsc', '-b'], { cwd: tree, timeoutMs: buildTimeoutMs });
    return { dir, tree, buildMs: performance.now() - t0 };
  } catch (err) {
    err.dir = dir;
    throw err;
  }
}

/** `git worktree remove --force`, then the folder itself; true when nothing is left. */
export async function removeTree(root, dir) {
  const tree = join(dir, 'tree');
  if (existsSync(tree)) {
    await git(root, ['worktree', 'remove', '--force', tree]).catch(async () => {
      // Not (or no longer) a registered worktree: remove the files, then forget the entry.
      rmSync(tree, { recursive: true, force: true });
      await git(root, ['worktree', 'prune']).catch(() => {});
    });
  }
  rmSync(dir, { recursive: true, force: true });
  return !existsSync(dir);
}

/** Whether git still lists a worktree under `dir`. */
export async function worktreeListed(root, dir) {
  const list = await git(root, ['worktree', 'list', '--porcelain']).catch(() => '');
  return list.split('\n').some((l) => l.startsWith('worktree ') && l.slice('worktree '.length).startsWith(dir));
}
