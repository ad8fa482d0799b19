/**
 * What a workload's k6 console log says about its own setup (scenarios/probes.ts and the session helper
 * in scenarios/lib/users.ts print these lines):
 *   SC_PROBE_SETUP {"probe":"revoked","ok":false,"reason":"…"}   one per selected probe
 *   SC_SESSIONS {"source":"registration","reason":"…"}           where the workload's sessions came from
 * A probe whose setup failed records no attempts; the checker makes its checks INCONCLUSIVE with the reason.
 */
import { z } from 'zod';
import { messageOf } from './fanout-checker.js';

const ProbeSetupSchema = z.object({ probe: z.string().min(1), ok: z.boolean(), reason: z.string().optional() });
const SessionsSchema = z.object({ source: z.enum(['login', 'registration']), reason: z.string().optional() });

export interface SetupLog {
  /** probe → why its setup failed (probes that set up fine are absent). */
  failures: Record<string, string>;
  /** Probes whose setup was reported at all (ok or not). */
  reported: string[];
  sessions: z.output<typeof SessionsSchema> | null;
}

/** Reads the SC_PROBE_SETUP / SC_SESSIONS lines of a k6 log (raw, or inside k6's logfmt msg="…"). */
export function parseSetupLog(text: string): SetupLog {
  const out = emptySetupLog();
  for (const line of text.split('\n')) addSetupLogLine(out, line);
  return out;
}

export const emptySetupLog = (): SetupLog => ({ failures: {}, reported: [], sessions: null });

/** One line of the log into `out` (read line by line: history.ts forEachWorkloadLogLine). */
export function addSetupLogLine(out: SetupLog, line: string): void {
  const m = /\b(SC_PROBE_SETUP|SC_SESSIONS) (\{.*\})\s*$/.exec(messageOf(line));
  if (!m) return;
  let raw: unknown;
  try {
    raw = JSON.parse(m[2]!);
  } catch {
    return;
  }
  if (m[1] === 'SC_PROBE_SETUP') {
    const p = ProbeSetupSchema.safeParse(raw);
    if (!p.success) return;
    out.reported.push(p.data.probe);
    if (!p.data.ok) out.failures[p.data.probe] = p.data.reason ?? 'setup failed (no reason given)';
  } else {
    const p = SessionsSchema.safeParse(raw);
    if (p.success) out.sessions = p.data;
  }
}
