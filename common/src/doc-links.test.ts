/**
 * Every message that sends the reader somewhere must send them to something that exists: a README or
 * docs section by name ("docs/microvm.md "Running with Firecracker (KVM hosts)""), a document and its
 * #anchor, a script or file of the repository, an `npm run` script. Checked over the error registry
 * and the source of every component's messages (configuration, start-up, executors), and over the
 * relative links of README.md and docs/*.md.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERRORS } from './errors.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Sources whose strings are messages to operators and callers (tests excluded). */
const MESSAGE_SOURCES = ['common/src', 'bin/src', 'executor/src', 'orchestrator/src', 'gateway/src', 'tools/firecracker-rootfs-builder'];

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(ts|mjs)$/.test(name) && !/\.test\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function headings(file: string): string[] {
  return readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => line.replace(/^#+ /, '').trim());
}

interface Reference {
  where: string;
  text: string;
}

/** The references a text makes, with a problem for each one that points nowhere. */
function brokenReferences(text: string, where: string): string[] {
  const problems: string[] = [];
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const refs: Reference[] = [];
  // A section by name: README "Quick start", README.md section "X", docs/microvm.md "X".
  for (const m of text.matchAll(/\b(README(?:\.md)?|docs\/[\w.-]+\.md)(?: section)? "([^"]+)"/g)) {
    const file = m[1] === 'README' ? 'README.md' : (m[1] as string);
    const section = m[2] as string;
    refs.push({ where, text: m[0] });
    if (!existsSync(join(ROOT, file))) problems.push(`${where}: ${m[0]}: ${file} does not exist`);
    else if (!headings(file).includes(section)) {
      problems.push(`${where}: ${m[0]}: ${file} has no heading "${section}" (it has: ${headings(file).join(' | ')})`);
    }
  }
  // A document, possibly with an anchor: docs/CONFIGURATION.md#env-files.
  for (const m of text.matchAll(/\b((?:docs\/[\w./-]+|README)\.md)(#[\w-]+)?/g)) {
    const file = m[1] as string;
    if (!existsSync(join(ROOT, file))) {
      problems.push(`${where}: ${m[0]}: ${file} does not exist`);
      continue;
    }
    const anchor = m[2]?.slice(1);
    if (anchor && !headings(file).some((h) => slug(h) === anchor)) problems.push(`${where}: ${m[0]}: no heading with anchor #${anchor}`);
  }
  // A script or file of the repository named in a message.
  for (const m of text.matchAll(/\b((?:scripts|tools|guest-agent|bench)\/[\w./-]*[\w-]\.(?:sh|mjs|js|json|md|ts))\b/g)) {
    const file = m[1] as string;
    if (/(^|\/)(dist|target|node_modules)\//.test(file)) continue;
    if (!existsSync(join(ROOT, file))) problems.push(`${where}: ${file} does not exist`);
  }
  // npm run SCRIPT
  for (const m of text.matchAll(/\bnpm run ([\w:-]+)/g)) {
    if (!scripts[m[1] as string]) problems.push(`${where}: "${m[0]}": package.json has no script "${m[1]}"`);
  }
  return problems;
}

describe('references in messages', () => {
  it('the error registry points only to things that exist', () => {
    const problems = Object.entries(ERRORS).flatMap(([code, { summary }]) => brokenReferences(summary, code));
    assert.deepEqual(problems, []);
  });

  it('configuration, start-up and executor messages point only to things that exist', () => {
    const files = MESSAGE_SOURCES.flatMap((dir) => (existsSync(join(ROOT, dir)) ? walk(join(ROOT, dir)) : []));
    assert.ok(
      files.some((f) => f.endsWith('config.ts')),
      'common/src/config.ts must be among the scanned files',
    );
    const problems = files.flatMap((file) => brokenReferences(readFileSync(file, 'utf8'), relative(ROOT, file)));
    assert.deepEqual(problems, []);
  });

  it('the firecracker set-up messages name a section that exists', () => {
    const config = readFileSync(join(ROOT, 'common/src/config.ts'), 'utf8');
    assert.match(config, /docs\/microvm\.md "Running with Firecracker \(KVM hosts\)"/);
    assert.ok(headings('docs/microvm.md').includes('Running with Firecracker (KVM hosts)'));
  });

  it('the checker itself finds a missing section, file, anchor and script', () => {
    const problems = brokenReferences(
      'see README "MicroVMs", docs/nope.md, docs/CONFIGURATION.md#no-such-anchor, scripts/nope.sh and `npm run nope`',
      'sample',
    );
    assert.equal(problems.length, 5, problems.join('\n'));
  });
});

describe('links in README.md and docs/*.md', () => {
  it('every relative link points to a file that exists, and every #anchor to a heading', () => {
    const docs = [
      'README.md',
      ...readdirSync(join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    const problems: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        const [path, anchor] = target.split('#');
        const file = path ? join(doc.includes('/') ? 'docs' : '', path) : doc;
        if (!existsSync(join(ROOT, file))) problems.push(`${doc}: (${target}): ${file} does not exist`);
        else if (anchor && file.endsWith('.md') && !headings(file).some((h) => slug(h) === anchor)) {
          problems.push(`${doc}: (${target}): no heading with anchor #${anchor} in ${file}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
