/** The invocation history of a function with filters, one invocation with its output, async invocations and the dead letters. */
import type { Invocation, InvocationStatus, ListInvocationsQuery } from '@faas/sdk';
import { useState } from 'preact/hooks';
import { collect, describeError, formatMs, formatTime } from './api.js';
import { Output, Phases } from './invoke.js';
import { Badge, ErrorLine, navigate, outcomeOf, useClient, useLoad } from './util.js';

const STATUSES: InvocationStatus[] = ['completed', 'out_of_memory', 'timed_out', 'cancelled', 'error'];

function FunctionPicker(props: { value: string; onChange: (id: string) => void }) {
  const client = useClient();
  const list = useLoad(() => collect(client.functions.all()), []);
  return (
    <label>
      function
      <select name="function" value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        <option value="">—</option>
        {(list.data ?? []).map((f) => (
          <option key={f.id} value={f.id}>
            {f.id}
          </option>
        ))}
      </select>
    </label>
  );
}

function InvocationRows(props: { items: Invocation[] }) {
  return (
    <table class="invocations">
      <thead>
        <tr>
          <th>invocation</th>
          <th>function</th>
          <th>mode</th>
          <th>state</th>
          <th>outcome</th>
          <th>exit</th>
          <th>duration</th>
          <th>started</th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((i) => (
          <tr key={i.id} data-invocation={i.id}>
            <td class="mono">
              <a href={`#/invocations/${i.id}`}>{i.id.slice(0, 8)}</a>
            </td>
            <td>{i.function_id}</td>
            <td>{i.mode}</td>
            <td>
              <Badge value={i.state ?? outcomeOf(i)} />
            </td>
            <td>{i.status ? <Badge value={outcomeOf(i)} /> : '—'}</td>
            <td>{i.exit_code ?? '—'}</td>
            <td>{formatMs(i.duration_ms)}</td>
            <td>{formatTime(i.started_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const toIso = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

export function History(props: { id?: string }) {
  const client = useClient();
  const [status, setStatus] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [cursor, setCursor] = useState<string>();
  const list = useLoad(async () => {
    if (!props.id) return undefined;
    const query: ListInvocationsQuery = { limit: 25 };
    if (status) query.status = status as InvocationStatus;
    const s = toIso(since);
    const u = toIso(until);
    if (s) query.since = s;
    if (u) query.until = u;
    if (cursor) query.cursor = cursor;
    return client.invocations.list(props.id, query);
  }, [props.id, status, since, until, cursor]);
  return (
    <section>
      <h2>History{props.id ? ` of ${props.id}` : ''}</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <FunctionPicker value={props.id ?? ''} onChange={(id) => navigate(`#/history/${encodeURIComponent(id)}`)} />
        <label>
          outcome
          <select name="status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          since
          <input type="datetime-local" name="since" value={since} onChange={(e) => setSince((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          until
          <input type="datetime-local" name="until" value={until} onChange={(e) => setUntil((e.target as HTMLInputElement).value)} />
        </label>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </form>
      <ErrorLine error={list.error} />
      {!props.id ? <p class="muted">Pick a function.</p> : null}
      {list.data ? (
        list.data.invocations.length === 0 ? (
          <p class="muted">No invocation matches.</p>
        ) : (
          <>
            <InvocationRows items={list.data.invocations} />
            <div class="row">
              {cursor ? (
                <button type="button" onClick={() => setCursor(undefined)}>
                  First page
                </button>
              ) : null}
              {list.data.next_cursor ? (
                <button type="button" onClick={() => setCursor(list.data?.next_cursor ?? undefined)}>
                  Older
                </button>
              ) : null}
            </div>
          </>
        )
      ) : null}
    </section>
  );
}

export function InvocationView(props: { id: string }) {
  const client = useClient();
  const [error, setError] = useState<string>();
  const record = useLoad(() => client.invocations.get(props.id), [props.id], 3000);
  const output = useLoad(
    async () => (record.data?.status ? client.invocations.output(props.id) : undefined),
    [props.id, record.data?.status ?? ''],
  );
  const i = record.data;
  if (!i) return <ErrorLine error={record.error} />;
  const cancel = async () => {
    try {
      await client.invocations.cancel(i.id);
      record.reload();
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <section>
      <h2>
        Invocation <span class="mono">{i.id}</span>
      </h2>
      <dl class="facts">
        <dt>function</dt>
        <dd>
          <a href={`#/history/${encodeURIComponent(i.function_id)}`}>{i.function_id}</a> (version {i.function_version ?? '—'})
        </dd>
        <dt>mode</dt>
        <dd>{i.mode}</dd>
        <dt>state</dt>
        <dd id="state">
          <Badge value={i.state ?? outcomeOf(i)} />
          {i.cancel_requested ? ' (cancel requested)' : ''}
        </dd>
        <dt>outcome</dt>
        <dd>{i.status ? <Badge value={outcomeOf(i)} /> : '—'}</dd>
        <dt>exit code</dt>
        <dd id="exit-code">{i.exit_code ?? '—'}</dd>
        {i.error ? (
          <>
            <dt>error</dt>
            <dd>
              {i.error_code ? `${i.error_code}: ` : ''}
              {i.error}
            </dd>
          </>
        ) : null}
        <dt>attempts</dt>
        <dd>
          {i.attempts} of {i.max_attempts}
        </dd>
        {i.callback ? (
          <>
            <dt>callback</dt>
            <dd id="callback">
              <Badge value={i.callback.state} /> {i.callback.url_origin}, {i.callback.attempts}{' '}
              {i.callback.attempts === 1 ? 'attempt' : 'attempts'}
              {i.callback.last_status !== null ? `, last answer ${i.callback.last_status}` : ''}
              {i.callback.delivered_at ? `, delivered ${formatTime(i.callback.delivered_at)}` : ''}
              {i.callback.last_error ? `: ${i.callback.last_error}` : ''}
            </dd>
          </>
        ) : null}
        <dt>accepted / started / finished</dt>
        <dd>
          {formatTime(i.accepted_at)} / {formatTime(i.started_at)} / {formatTime(i.finished_at)}
        </dd>
        <dt>bytes in / out / err</dt>
        <dd>
          {i.stdin_bytes} / {i.stdout_bytes} / {i.stderr_bytes}
          {i.output_truncated ? ' (output truncated)' : ''}
        </dd>
      </dl>
      {i.state === 'queued' || i.state === 'running' ? (
        <button type="button" class="danger" onClick={cancel}>
          Cancel
        </button>
      ) : null}
      <ErrorLine error={error} />
      <Phases phases={i.phases} total={i.duration_ms} />
      {(i.attempt_history ?? []).length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>attempt</th>
              <th>status</th>
              <th>exit</th>
              <th>error</th>
              <th>started</th>
            </tr>
          </thead>
          <tbody>
            {(i.attempt_history ?? []).map((a) => (
              <tr key={a.attempt}>
                <td>{a.attempt}</td>
                <td>{a.status}</td>
                <td>{a.exit_code ?? '—'}</td>
                <td>{a.error_code ?? a.error ?? '—'}</td>
                <td>{formatTime(a.started_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <ErrorLine error={output.error} />
      {output.data ? <Output stdout={output.data.stdoutText()} stderr={output.data.stderrText()} /> : null}
    </section>
  );
}

export function AsyncView() {
  const client = useClient();
  const [error, setError] = useState<string>();
  const dead = useLoad(() => collect(client.deadLetters.all()), [], 5000);
  const recent = useLoad(
    async () => {
      const functions = await collect(client.functions.all());
      // The history's rows say how an invocation ended, not how it was asked for: the newest 30 are read one by one for their mode and state.
      const lists = await Promise.all(
        functions.map((f) => client.invocations.list(f.id, { limit: 30 }).catch(() => ({ invocations: [] as Invocation[] }))),
      );
      const newest = lists
        .flatMap((l) => l.invocations)
        .sort((a, b) => b.started_at.localeCompare(a.started_at))
        .slice(0, 30);
      const records = await Promise.all(newest.map((i) => client.invocations.get(i.id).catch(() => i)));
      return records.filter((i) => i.mode === 'async');
    },
    [],
    5000,
  );
  const act = async (what: () => Promise<unknown>) => {
    try {
      await what();
      dead.reload();
      recent.reload();
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <section>
      <h2>Asynchronous invocations</h2>
      <ErrorLine error={error ?? recent.error} />
      {recent.data && recent.data.length === 0 ? <p class="muted">No asynchronous invocation yet.</p> : null}
      {recent.data && recent.data.length > 0 ? <InvocationRows items={recent.data} /> : null}
      <h2 id="dead-letters">Dead letters</h2>
      <ErrorLine error={dead.error} />
      {dead.data && dead.data.length === 0 ? <p class="muted">No dead letter.</p> : null}
      {dead.data && dead.data.length > 0 ? (
        <table class="dead-letters">
          <thead>
            <tr>
              <th>invocation</th>
              <th>function</th>
              <th>attempts</th>
              <th>last error</th>
              <th>accepted</th>
              <th>dead since</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {dead.data.map((d) => (
              <tr key={d.invocation_id} data-dead-letter={d.invocation_id}>
                <td class="mono">
                  <a href={`#/invocations/${d.invocation_id}`}>{d.invocation_id.slice(0, 8)}</a>
                </td>
                <td>{d.function_id}</td>
                <td>
                  {d.attempts} of {d.max_attempts}
                </td>
                <td>{d.error_code ?? d.error ?? '—'}</td>
                <td>{formatTime(d.accepted_at)}</td>
                <td>{formatTime(d.dead_at)}</td>
                <td class="actions">
                  <button type="button" onClick={() => act(() => client.deadLetters.redrive(d.invocation_id))}>
                    Redrive
                  </button>
                  <button type="button" class="danger" onClick={() => act(() => client.deadLetters.delete(d.invocation_id))}>
                    Discard
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
