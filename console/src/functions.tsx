/** The function list with recent outcomes, and the create / edit form. */
import type { FunctionCreate, FunctionInfo, FunctionPatch, Invocation } from '@faas/sdk';
import { useState } from 'preact/hooks';
import { collect, describeError, formatTime, parseLines } from './api.js';
import { Badge, ErrorLine, navigate, outcomeOf, useClient, useLoad } from './util.js';

const RECENT = 10;

export function FunctionList() {
  const client = useClient();
  const list = useLoad(async () => {
    const functions = await collect(client.functions.all());
    const recent = await Promise.all(
      functions.map((f) =>
        client.invocations.list(f.id, { limit: RECENT }).then(
          (l) => l.invocations,
          () => [] as Invocation[],
        ),
      ),
    );
    return functions.map((f, i) => ({ f, recent: recent[i] ?? [] }));
  }, []);
  return (
    <section>
      <header class="bar">
        <h2>Functions</h2>
        <button type="button" id="new-function" onClick={() => navigate('#/functions/new')}>
          New function
        </button>
      </header>
      <ErrorLine error={list.error} />
      {list.data && list.data.length === 0 ? <p class="muted">No function is registered yet.</p> : null}
      {list.data && list.data.length > 0 ? (
        <table class="functions">
          <thead>
            <tr>
              <th>id</th>
              <th>image</th>
              <th>command</th>
              <th>version</th>
              <th>updated</th>
              <th>recent outcomes (newest first)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.map(({ f, recent }) => (
              <tr key={f.id} data-function={f.id}>
                <td>
                  <a href={`#/functions/${encodeURIComponent(f.id)}/edit`}>{f.id}</a>
                  {f.description ? <div class="muted small">{f.description}</div> : null}
                </td>
                <td class="mono">{f.image}</td>
                <td class="mono">{f.command.join(' ')}</td>
                <td>{f.version}</td>
                <td>{formatTime(f.updated_at)}</td>
                <td class="recent">
                  {recent.length === 0 ? <span class="muted">none yet</span> : null}
                  {recent.map((i) => (
                    <a key={i.id} href={`#/invocations/${i.id}`} class="dot-link">
                      <Badge value={outcomeOf(i)} title={`${outcomeOf(i)} · ${formatTime(i.started_at)}`} />
                    </a>
                  ))}
                </td>
                <td class="actions">
                  <a href={`#/invoke/${encodeURIComponent(f.id)}`}>invoke</a>
                  <a href={`#/functions/${encodeURIComponent(f.id)}/edit`}>edit</a>
                  <a href={`#/history/${encodeURIComponent(f.id)}`}>history</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

interface Form {
  id: string;
  image: string;
  command: string;
  env: string;
  allowedEnv: string;
  secrets: string;
  timeout: string;
  maxAttempts: string;
  description: string;
}

function toForm(f?: FunctionInfo): Form {
  return {
    id: f?.id ?? '',
    image: f?.image ?? 'faas/busybox:latest',
    command: f ? f.command.join('\n') : '',
    env: f ? f.env_vars.join('\n') : '',
    allowedEnv: f ? f.allowed_env_vars.join('\n') : '',
    secrets: '',
    timeout: f?.timeout_ms ? String(f.timeout_ms) : '',
    maxAttempts: f?.max_attempts ? String(f.max_attempts) : '',
    description: f?.description ?? '',
  };
}

function secretsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of parseLines(text)) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

const optionalInt = (text: string): number | null => (text.trim() === '' ? null : Number(text.trim()));

export function FunctionEdit(props: { id?: string }) {
  const client = useClient();
  const existing = useLoad(async () => (props.id ? client.functions.get(props.id) : undefined), [props.id]);
  const [form, setForm] = useState<Form | null>(null);
  const [error, setError] = useState<string>();
  const [saving, setSaving] = useState(false);
  if (props.id && !existing.data) return <ErrorLine error={existing.error} />;
  const f = form ?? toForm(existing.data);
  const set = (field: keyof Form) => (e: Event) => setForm({ ...f, [field]: (e.target as HTMLInputElement).value });

  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setError(undefined);
    try {
      const common = {
        image: f.image.trim(),
        command: f.command.split('\n').filter((l) => l !== '') as [string, ...string[]],
        env_vars: parseLines(f.env),
        allowed_env_vars: parseLines(f.allowedEnv),
        timeout_ms: optionalInt(f.timeout),
        max_attempts: optionalInt(f.maxAttempts),
        description: f.description,
      };
      const secrets = secretsOf(f.secrets);
      let saved: FunctionInfo;
      if (existing.data) {
        const patch: FunctionPatch = { ...common, ...(Object.keys(secrets).length > 0 ? { secrets } : {}) };
        saved = await client.functions.update(existing.data.id, patch, { ifMatch: existing.data.version });
      } else {
        const create: FunctionCreate = { id: f.id.trim(), ...common, secrets };
        saved = await client.functions.create(create);
      }
      navigate(`#/invoke/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    if (!existing.data || !confirm(`Delete function ${existing.data.id}?`)) return;
    try {
      await client.functions.delete(existing.data.id, { ifMatch: existing.data.version });
      navigate('#/functions');
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <section>
      <h2>{existing.data ? `Edit ${existing.data.id} (version ${existing.data.version})` : 'New function'}</h2>
      <form onSubmit={save} class="form">
        {existing.data ? null : (
          <label>
            id
            <input name="id" value={f.id} onInput={set('id')} required pattern="[a-z0-9][a-z0-9_\-]*" placeholder="hello" />
          </label>
        )}
        <label>
          image
          <input name="image" value={f.image} onInput={set('image')} required />
        </label>
        <label>
          command (one argument per line)
          <textarea name="command" rows={3} value={f.command} onInput={set('command')} required />
        </label>
        <label>
          environment (KEY=VALUE, one per line)
          <textarea name="env" rows={3} value={f.env} onInput={set('env')} />
        </label>
        <label>
          variables callers may set (a name, or a prefix ending in *, per line; none by default)
          <textarea name="allowed_env_vars" rows={2} value={f.allowedEnv} onInput={set('allowedEnv')} />
        </label>
        <label>
          secrets (KEY=VALUE, one per line; {existing.data ? `stored: ${existing.data.secret_names.join(', ') || 'none'}; ` : ''}
          never shown again)
          <textarea name="secrets" rows={2} value={f.secrets} onInput={set('secrets')} />
        </label>
        <div class="row">
          <label>
            timeout (ms)
            <input name="timeout_ms" type="number" min={1} value={f.timeout} onInput={set('timeout')} />
          </label>
          <label>
            max attempts (async)
            <input name="max_attempts" type="number" min={1} value={f.maxAttempts} onInput={set('maxAttempts')} />
          </label>
        </div>
        <label>
          description
          <input name="description" value={f.description} onInput={set('description')} />
        </label>
        <ErrorLine error={error} />
        <div class="row">
          <button type="submit" id="save-function" disabled={saving}>
            {existing.data ? 'Save' : 'Create'}
          </button>
          {existing.data ? (
            <button type="button" class="danger" onClick={remove}>
              Delete
            </button>
          ) : null}
        </div>
      </form>
    </section>
  );
}
