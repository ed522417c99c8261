/**
 * Charts from the platform's own metrics (GET /metrics, a key with the `metrics` scope, parsed here)
 * and the pool and queue state (GET /ready and the pool and queue gauges).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { collect, formatMs } from './api.js';
import { type BarRow, LineChart, type Series, StackedBars } from './charts.js';
import { parsePrometheus, quantile, type Sample, select, sumBy } from './prom.js';
import { ErrorLine, useClient, useLoad } from './util.js';

const EVERY_MS = 5000;
const KEEP = 120;

function invocationsPerFunction(samples: Sample[]): BarRow[] {
  const rows = new Map<string, Map<string, number>>();
  for (const s of select(samples, 'faas_invocations_total')) {
    const fn = s.labels['function'] ?? '';
    const outcome = s.labels['outcome'] ?? '';
    const row = rows.get(fn) ?? new Map<string, number>();
    row.set(outcome, (row.get(outcome) ?? 0) + s.value);
    rows.set(fn, row);
  }
  return [...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, parts]) => ({ label, parts: [...parts.entries()].map(([key, value]) => ({ key, value })) }));
}

function latencyRows(samples: Sample[]): BarRow[] {
  const outcomes = [...sumBy(samples, 'faas_invocation_duration_seconds_count', 'outcome').entries()].filter(([, n]) => n > 0);
  // One row per quantile: quantiles are not parts of a whole, so they are not stacked.
  return outcomes.flatMap(([outcome]) =>
    (
      [
        ['p50', 0.5],
        ['p90', 0.9],
        ['p99', 0.99],
      ] as const
    ).map(([key, q]) => ({
      label: `${outcome} ${key}`,
      parts: [{ key, value: (quantile(samples, 'faas_invocation_duration_seconds', q, { outcome }) ?? 0) * 1000 }],
    })),
  );
}

function phaseRows(samples: Sample[]): BarRow[] {
  const sums = sumBy(samples, 'faas_invocation_phase_seconds_sum', 'phase');
  const counts = sumBy(samples, 'faas_invocation_phase_seconds_count', 'phase');
  return [...sums.entries()]
    .filter(([phase]) => (counts.get(phase) ?? 0) > 0)
    .map(([phase, sum]) => ({ label: phase, parts: [{ key: 'mean', value: (sum / (counts.get(phase) ?? 1)) * 1000 }] }));
}

/** The metrics, scraped every 5 s while the page is open, with the per-function invocation rate between scrapes. */
function useScrapes() {
  const client = useClient();
  const [latest, setLatest] = useState<Sample[]>();
  const [error, setError] = useState<string>();
  const [rates, setRates] = useState<Series[]>([]);
  const prev = useRef<{ t: number; totals: Map<string, number> }>();
  useEffect(() => {
    let live = true;
    const scrape = async () => {
      try {
        const samples = parsePrometheus(await client.metrics());
        if (!live) return;
        const t = Date.now();
        const totals = sumBy(samples, 'faas_invocations_total', 'function');
        const before = prev.current;
        if (before) {
          const dt = (t - before.t) / 1000;
          setRates((old) => {
            const byKey = new Map(old.map((s) => [s.key, s.points]));
            for (const [fn, total] of totals) {
              const points = byKey.get(fn) ?? [];
              points.push({ t, v: Math.max(0, total - (before.totals.get(fn) ?? 0)) / dt });
              byKey.set(fn, points.slice(-KEEP));
            }
            return [...byKey.entries()].map(([key, points]) => ({ key, points }));
          });
        }
        prev.current = { t, totals };
        setLatest(samples);
        setError(undefined);
      } catch (err) {
        if (live) setError(err instanceof Error ? err.message : String(err));
      }
    };
    void scrape();
    const timer = setInterval(scrape, EVERY_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [client]);
  return { latest, error, rates };
}

export function MetricsView() {
  const client = useClient();
  const { latest, error, rates } = useScrapes();
  // Latency per function is not a metric label (it would multiply the histogram's series): the console takes it from the recent history.
  const perFunction = useLoad(async () => {
    const functions = await collect(client.functions.all());
    const rows = await Promise.all(
      functions.map(async (f) => {
        const items = (await client.invocations.list(f.id, { limit: 50 }).catch(() => ({ invocations: [] }))).invocations.filter(
          (i) => i.status,
        );
        const durations = items.map((i) => i.duration_ms).sort((a, b) => a - b);
        const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? 0;
        if (durations.length === 0) return [];
        return [
          { label: `${f.id} p50`, parts: [{ key: 'p50', value: at(0.5) }] },
          { label: `${f.id} p90`, parts: [{ key: 'p90', value: at(0.9) }] },
        ];
      }),
    );
    return rows.flat();
  }, []);
  return (
    <section>
      <h2>Metrics</h2>
      <p class="muted">From the gateway's GET /metrics (the key needs the metrics scope), scraped every 5 s while this page is open.</p>
      <ErrorLine error={error} />
      {latest ? (
        <div class="charts">
          <StackedBars title="Invocations per function, by outcome (since the gateway started)" rows={invocationsPerFunction(latest)} />
          <LineChart title="Invocations per second, per function" series={rates} unit="/s" />
          <StackedBars
            title="Latency by outcome, ms (p50, p90, p99 of faas_invocation_duration_seconds)"
            rows={latencyRows(latest)}
            unit=" ms"
          />
          <StackedBars title="Mean time per phase, ms (faas_invocation_phase_seconds)" rows={phaseRows(latest)} unit=" ms" />
          <StackedBars
            title="Latency per function, ms (p50 and p90 of its last 50 invocations, from the history)"
            rows={perFunction.data ?? []}
            unit=" ms"
          />
        </div>
      ) : null}
    </section>
  );
}

function Gauge(props: { label: string; value: number | string | undefined; id?: string }) {
  return (
    <div class="gauge" id={props.id}>
      <div class="value">{props.value ?? '—'}</div>
      <div class="label">{props.label}</div>
    </div>
  );
}

export function PoolView() {
  const client = useClient();
  const ready = useLoad(() => client.ready(), [], EVERY_MS);
  const { latest, error } = useScrapes();
  const one = (name: string) => (latest ? (sumBy(latest, name, '').get('') ?? 0) : undefined);
  const pools = latest
    ? [...new Set(select(latest, 'faas_pool_idle_sandboxes').map((s) => `${s.labels['executor']}/${s.labels['isolation']}`))].sort()
    : [];
  const poolValue = (name: string, pool: string) => {
    const [executor = '', isolation = ''] = pool.split('/');
    return latest ? (sumBy(latest, name, '', { executor, isolation }).get('') ?? 0) : 0;
  };
  return (
    <section>
      <h2>Pool and queue</h2>
      <ErrorLine error={ready.error} />
      {ready.data ? (
        <div class="gauges">
          <Gauge label="status" value={ready.data.status} id="ready-status" />
          <Gauge label="executor" value={ready.data.executor} />
          <Gauge label="running" value={ready.data.running} />
          <Gauge label="queued (for a slot)" value={ready.data.queued} />
          <Gauge label="rebuilding the pool" value={ready.data.rebuilding ? 'yes' : 'no'} />
        </div>
      ) : null}
      <ErrorLine error={error} />
      {latest ? (
        <>
          <h3>Asynchronous queue</h3>
          <div class="gauges">
            <Gauge label="queued" value={one('faas_async_queue_depth')} />
            <Gauge label="oldest queued" value={formatMs((one('faas_async_oldest_queued_age_seconds') ?? 0) * 1000)} />
            <Gauge label="running" value={one('faas_async_running_invocations')} />
            <Gauge label="dead letters" value={one('faas_async_dead_letters')} id="dead-letter-gauge" />
          </div>
          <h3>Warm pools</h3>
          <table class="pools">
            <thead>
              <tr>
                <th>executor / isolation</th>
                <th>idle</th>
                <th>starting</th>
                <th>hits</th>
                <th>misses</th>
                <th>evictions</th>
                <th>lost</th>
                <th>rebuilding</th>
              </tr>
            </thead>
            <tbody>
              {pools.map((p) => (
                <tr key={p}>
                  <td>{p}</td>
                  <td>{poolValue('faas_pool_idle_sandboxes', p)}</td>
                  <td>{poolValue('faas_pool_starting_sandboxes', p)}</td>
                  <td>{poolValue('faas_pool_hits_total', p)}</td>
                  <td>{poolValue('faas_pool_misses_total', p)}</td>
                  <td>{poolValue('faas_pool_evictions_total', p)}</td>
                  <td>{poolValue('faas_pool_lost_total', p)}</td>
                  <td>{poolValue('faas_pool_rebuilding', p) ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
