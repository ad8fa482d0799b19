/** Scenario parameters from k6's __ENV, with defaults and a clear error naming the variable. */
export function num(name: string, dflt: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw} is not a non-negative number`);
  return n;
}

export function str(name: string, dflt: string): string {
  const raw = __ENV[name];
  return raw === undefined || raw === '' ? dflt : raw;
}
