/** Small SVG charts: stacked horizontal bars and a line chart (no chart library, nothing fetched). */

export const PALETTE: Record<string, string> = {
  completed: '#2e7d32',
  succeeded: '#2e7d32',
  failed: '#c62828',
  error: '#c62828',
  timed_out: '#ef6c00',
  out_of_memory: '#6a1b9a',
  cancelled: '#757575',
  requeued: '#0277bd',
  dead: '#4e342e',
  queued: '#0277bd',
  running: '#f9a825',
};

const FALLBACK = ['#1565c0', '#00838f', '#ad1457', '#558b2f', '#5d4037', '#283593'];

export function colorOf(key: string, i = 0): string {
  return PALETTE[key] ?? FALLBACK[i % FALLBACK.length] ?? '#1565c0';
}

export interface BarRow {
  label: string;
  parts: { key: string; value: number }[];
}

export function StackedBars(props: { rows: BarRow[]; unit?: string; title: string }) {
  const { rows, unit = '' } = props;
  const max = Math.max(1, ...rows.map((r) => r.parts.reduce((a, p) => a + p.value, 0)));
  const keys = [...new Set(rows.flatMap((r) => r.parts.map((p) => p.key)))];
  const rowH = 24;
  const labelW = 160;
  const width = 640;
  const barW = width - labelW - 80;
  const height = rows.length * rowH + 8;
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      {rows.length === 0 ? (
        <p class="muted">No data yet.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={props.title}>
          {rows.map((r, i) => {
            let x = labelW;
            const total = r.parts.reduce((a, p) => a + p.value, 0);
            return (
              <g key={r.label} transform={`translate(0 ${i * rowH + 4})`}>
                <text x={labelW - 8} y={15} text-anchor="end" class="axis">
                  {r.label}
                </text>
                {r.parts.map((p) => {
                  const w = (p.value / max) * barW;
                  const rect = (
                    <rect key={p.key} x={x} y={2} width={Math.max(0, w)} height={rowH - 8} fill={colorOf(p.key, keys.indexOf(p.key))}>
                      <title>{`${p.key}: ${formatValue(p.value)}${unit}`}</title>
                    </rect>
                  );
                  x += w;
                  return rect;
                })}
                <text x={x + 6} y={15} class="axis">
                  {formatValue(total)}
                  {unit}
                </text>
              </g>
            );
          })}
        </svg>
      )}
      <Legend keys={keys} />
    </figure>
  );
}

function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3);
}

export function Legend(props: { keys: string[] }) {
  return (
    <div class="legend">
      {props.keys.map((k, i) => (
        <span key={k}>
          <i style={{ background: colorOf(k, i) }} />
          {k}
        </span>
      ))}
    </div>
  );
}

export interface Series {
  key: string;
  points: { t: number; v: number }[];
}

export function LineChart(props: { series: Series[]; title: string; unit?: string }) {
  const width = 640;
  const height = 200;
  const pad = { l: 48, r: 12, t: 10, b: 24 };
  const all = props.series.flatMap((s) => s.points);
  const keys = props.series.map((s) => s.key);
  if (all.length < 2) {
    return (
      <figure class="chart">
        <figcaption>{props.title}</figcaption>
        <p class="muted">Collecting samples (one every 5 s while this page is open)…</p>
      </figure>
    );
  }
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(t0 + 1, ...all.map((p) => p.t));
  const vMax = Math.max(1e-9, ...all.map((p) => p.v));
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (v: number) => height - pad.b - (v / vMax) * (height - pad.t - pad.b);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={props.title}>
        <line x1={pad.l} y1={height - pad.b} x2={width - pad.r} y2={height - pad.b} class="grid" />
        <line x1={pad.l} y1={pad.t} x2={pad.l} y2={height - pad.b} class="grid" />
        <text x={pad.l - 4} y={pad.t + 8} text-anchor="end" class="axis">
          {formatValue(vMax)}
          {props.unit ?? ''}
        </text>
        <text x={pad.l - 4} y={height - pad.b} text-anchor="end" class="axis">
          0
        </text>
        <text x={width - pad.r} y={height - 6} text-anchor="end" class="axis">
          {`last ${Math.round((t1 - t0) / 1000)} s`}
        </text>
        {props.series.map((s, i) => (
          <polyline
            key={s.key}
            fill="none"
            stroke={colorOf(s.key, i)}
            stroke-width={2}
            points={s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')}
          />
        ))}
      </svg>
      <Legend keys={keys} />
    </figure>
  );
}
