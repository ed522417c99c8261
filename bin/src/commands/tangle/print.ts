/** The human form of a job result (resultToJson's fields), shared by `faas tangle submit` and `status`. */

function block(name: string, text: string, bytes: number, indent: string): string[] {
  if (bytes === 0) return [`${indent}${name}: (empty)`];
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return [`${indent}${name} (${bytes} byte${bytes === 1 ? '' : 's'}):`, ...body.split('\n').map((line) => `${indent}  ${line}`)];
}

/** Lines for one decoded result; an undecodable one says so and shows its bytes. */
export function resultLines(result: Record<string, unknown>, indent = ''): string[] {
  if (result.undecodable !== undefined) return [`${indent}undecodable result (${result.undecodable}): ${result.raw}`];
  const lines = [`${indent}status: ${result.status}`];
  if (result.signal) lines.push(`${indent}signal: ${result.signal}`);
  else lines.push(`${indent}exit code: ${result.exit_code ?? '-'}`);
  if (result.error_code || result.error) {
    lines.push(`${indent}error: ${[result.error_code, result.error].filter(Boolean).join(': ')}`);
  }
  if (result.invocation_id) lines.push(`${indent}invocation: ${result.invocation_id}`);
  lines.push(`${indent}duration: ${result.duration_ms} ms`);
  if (result.truncated) lines.push(`${indent}truncated: output was cut (FAAS_MAX_OUTPUT_BYTES, or 16 KiB in a result)`);
  const size = (b64: unknown) => Buffer.from(String(b64 ?? ''), 'base64').length;
  lines.push(...block('stdout', String(result.stdout ?? ''), size(result.stdout_base64), indent));
  lines.push(...block('stderr', String(result.stderr ?? ''), size(result.stderr_base64), indent));
  return lines;
}

export function printResult(result: Record<string, unknown>, indent = ''): void {
  process.stdout.write(`${resultLines(result, indent).join('\n')}\n`);
}
