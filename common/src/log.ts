/**
 * Logging with a RUST_LOG-style filter ("warn,gateway=debug"), so operators used to the design
 * document's variable keep their habits. Each component asks for its own child logger.
 */
import { type Logger, pino } from 'pino';
import { EXECUTOR_KINDS } from './types.js';

export type { Logger };

/**
 * Every component that asks for a logger (`LoggerFactory.for`), so every name a filter can mean:
 * the command itself, the gateway, the invocation core, the store, the asynchronous worker and its
 * callbacks, the Tangle operator, and each executor by its kind.
 */
export const LOG_COMPONENTS = ['bin', 'gateway', 'orchestrator', 'store', 'worker', 'callbacks', 'tangle', ...EXECUTOR_KINDS] as const;
export type LogComponent = (typeof LOG_COMPONENTS)[number];

/** The component a filter's target names: `faas_gateway` and `faas-gateway` are `gateway`. */
export function logComponentOf(target: string): string {
  return target.trim().replace(/^faas[_-]/, '');
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
type Level = (typeof LEVELS)[number];

export interface LogFilter {
  defaultLevel: Level;
  components: Record<string, Level>;
}

function toLevel(raw: string, filter: string): Level {
  const level = (raw === 'off' ? 'silent' : raw.toLowerCase()) as Level;
  if (!LEVELS.includes(level)) {
    throw new Error(`log filter "${filter}": unknown level "${raw}"; use trace, debug, info, warn, error or off`);
  }
  return level;
}

export function parseLogFilter(filter: string): LogFilter {
  const result: LogFilter = { defaultLevel: 'info', components: {} };
  for (const part of filter
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      result.defaultLevel = toLevel(part, filter);
    } else {
      result.components[logComponentOf(part.slice(0, eq))] = toLevel(part.slice(eq + 1).trim(), filter);
    }
  }
  return result;
}

export interface LoggerFactory {
  root: Logger;
  for(component: LogComponent): Logger;
}

export function createLoggerFactory(filter: string, destination?: pino.DestinationStream): LoggerFactory {
  const parsed = parseLogFilter(filter);
  const root = pino({ level: parsed.defaultLevel, base: { service: 'faas' } }, destination ?? pino.destination({ sync: false }));
  return {
    root,
    for(component: LogComponent): Logger {
      return root.child({ component }, { level: parsed.components[component] ?? parsed.defaultLevel });
    },
  };
}

/** A logger that drops everything, for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
