/** Invoking a function: stdin, environment and a timeout; the result with its output, exit code and phases. */
import { type AsyncAccepted, bytesToText, FunctionTimeoutError, type InvokeResult } from '@faas/sdk';
import { useState } from 'preact/hooks';
import { describeError, formatMs, parseLines } from './api.js';
import { colorOf } from './charts.js';
import { Badge, ErrorLine, useClient, useLoad } from './util.js';

export function Phases(props: { phases: { queue_ms: number; acquire_ms: number; run_ms: number } | undefined; total: number }) {
  const { phases, total } = props;
  if (!phases) return null;
  const parts = [
    ['queue', phases.queue_ms],
    ['acquire', phases.acquire_ms],
    ['run', phases.run_ms],
  ] as const;
  const sum = Math.max(
    total,
    parts.reduce((a, [, v]) => a + v, 0),
    1e-9,
  );
  return (
    <div class="phases">
      <div class="phase-bar">
        {parts.map(([k, v], i) => (
          <span key={k} style={{ width: `${(v / sum) * 100}%`, background: colorOf(k, i + 1) }} title={`${k}: ${formatMs(v)}`} />
        ))}
      </div>
      <div class="phase-legend">
        {parts.map(([k, v], i) => (
          <span key={k} data-phase={k}>
            <i style={{ background: colorOf(k, i + 1) }} />
            {k} {formatMs(v)}
          </span>
        ))}
        <span>total {formatMs(total)}</span>
      </div>
    </div>
  );
}

export function Output(props: { stdout: string; stderr: string }) {
  return (
    <div class="output">
      <div>
        <h4>stdout</h4>
        <pre id="stdout">{props.stdout || <span class="muted">(empty)</span>}</pre>
      </div>
      <div>
        <h4>stderr</h4>
        <pre id="stderr">{props.stderr || <span class="muted">(empty)</span>}</pre>
      </div>
    </div>
  );
}

type Outcome =
  | { kind: 'sync'; result: InvokeResult }
  | { kind: 'async'; accepted: AsyncAccepted }
  | { kind: 'timeout'; logs: string; message: string };

export function Invoke(props: { id: string }) {
  const client = useClient();
  const [stdin, setStdin] = useState('');
  const [env, setEnv] = useState('');
  const [timeout, setTimeoutMs] = useState('');
  const [async, setAsync] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [outcome, setOutcome] = useState<Outcome>();
  // The variables the function lets its callers set (a key that cannot read it sees no hint).
  const definition = useLoad(() => client.functions.get(props.id), [props.id]);
  const allowed = definition.data?.allowed_env_vars;

  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setOutcome(undefined);
    const envVars = parseLines(env);
    const input = {
      stdin,
      ...(envVars.length > 0 ? { env_vars: envVars } : {}),
      ...(timeout.trim() !== '' ? { timeout_ms: Number(timeout) } : {}),
    };
    try {
      if (async) setOutcome({ kind: 'async', accepted: await client.invokeAsync(props.id, input) });
      else setOutcome({ kind: 'sync', result: await client.invoke(props.id, input) });
    } catch (err) {
      if (err instanceof FunctionTimeoutError) setOutcome({ kind: 'timeout', logs: bytesToText(err.logs), message: describeError(err) });
      else setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <header class="bar">
        <h2>Invoke {props.id}</h2>
        <span>
          <a href={`#/functions/${encodeURIComponent(props.id)}/edit`}>edit</a> ·{' '}
          <a href={`#/history/${encodeURIComponent(props.id)}`}>history</a>
        </span>
      </header>
      <form onSubmit={run} class="form">
        <label>
          stdin
          <textarea name="stdin" rows={4} value={stdin} onInput={(e) => setStdin((e.target as HTMLTextAreaElement).value)} />
        </label>
        <label>
          environment (KEY=VALUE, one per line; added to the function's
          {allowed === undefined
            ? ''
            : allowed.length > 0
              ? `, which lets callers set ${allowed.join(', ')}`
              : ', which lets callers set none'}
          )
          <textarea name="env" rows={2} value={env} onInput={(e) => setEnv((e.target as HTMLTextAreaElement).value)} />
        </label>
        <div class="row">
          <label>
            timeout (ms)
            <input
              name="timeout_ms"
              type="number"
              min={1}
              value={timeout}
              onInput={(e) => setTimeoutMs((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="check">
            <input type="checkbox" name="async" checked={async} onChange={(e) => setAsync((e.target as HTMLInputElement).checked)} />
            asynchronously (queued, retried; see Async)
          </label>
        </div>
        <button type="submit" id="invoke" disabled={busy}>
          {busy ? 'Running…' : 'Invoke'}
        </button>
      </form>
      <ErrorLine error={error} />
      {outcome?.kind === 'sync' ? <ResultView result={outcome.result} /> : null}
      {outcome?.kind === 'async' ? (
        <div class="result" id="result">
          <p>
            Accepted: <a href={`#/invocations/${outcome.accepted.invocation_id}`}>{outcome.accepted.invocation_id}</a>{' '}
            <Badge value={outcome.accepted.state} />
          </p>
        </div>
      ) : null}
      {outcome?.kind === 'timeout' ? (
        <div class="result" id="result">
          <p>
            <Badge value="timed_out" /> {outcome.message}
          </p>
          <h4>output so far (stdout and stderr interleaved)</h4>
          <pre id="stdout">{outcome.logs}</pre>
        </div>
      ) : null}
    </section>
  );
}

function ResultView(props: { result: InvokeResult }) {
  const r = props.result;
  return (
    <div class="result" id="result">
      <dl class="facts">
        <dt>exit code</dt>
        <dd id="exit-code">
          {r.exit_code ?? '—'} <Badge value={r.ok ? 'completed' : r.error ? 'error' : 'failed'} />
        </dd>
        {r.signal ? (
          <>
            <dt>signal</dt>
            <dd>{r.signal}</dd>
          </>
        ) : null}
        {r.error ? (
          <>
            <dt>error</dt>
            <dd>{r.error}</dd>
          </>
        ) : null}
        <dt>invocation</dt>
        <dd>
          <a href={`#/invocations/${r.invocation_id}`}>{r.invocation_id}</a>
        </dd>
        <dt>executor</dt>
        <dd>{r.executor}</dd>
        {r.truncated ? (
          <>
            <dt>truncated</dt>
            <dd>yes: the output was cut at its limit</dd>
          </>
        ) : null}
      </dl>
      <Phases phases={r.phases} total={r.duration_ms} />
      <Output stdout={r.stdoutText()} stderr={r.stderrText()} />
    </div>
  );
}
