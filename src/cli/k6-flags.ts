/**
 * Flags k6 users already type, shared by `sch run` and `sch scenario run`: -e/--env, -o/--out, -d/--duration,
 * and the refusals that point an old or ambiguous habit at the flag meant (--out <dir> → --out-dir,
 * --profile → --target-profile / --load). Commander names the flag in every error; each exits 2.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration, DurationError } from '../util/duration.js';
import { OutputError, parseK6Output } from '../k6/outputs.js';
import { EXIT } from '../util/exit-codes.js';

/** A flag that cannot apply (a bad combination): bad input, exit 2 like every refused input. */
export class FlagError extends Error {
  override name = 'FlagError';
}

/** `K=V` → [K, V]; the key must look like an environment variable. */
export function envPair(pair: string): [string, string] {
  const i = pair.indexOf('=');
  const k = i > 0 ? pair.slice(0, i) : '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new InvalidArgumentError(`"${pair}" is not KEY=value (KEY a variable name), e.g. -e SC_RATE=5`);
  return [k, pair.slice(i + 1)];
}

/** Repeatable `-e KEY=value` (k6's --env): later ones win, as in k6. */
export function envFlag(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const [k, value] = envPair(v);
  return { ...prev, [k]: value };
}

/** Repeatable `-o type[=arg]` (k6's --out), each checked and its file made absolute (parseK6Output). */
export function outFlag(v: string, prev: string[] = []): string[] {
  try {
    return [...prev, parseK6Output(v)];
  } catch (e) {
    if (e instanceof OutputError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

/** A duration flag in k6's grammar (1h30m, 500ms, 20s; a plain number is seconds) → milliseconds, > 0. */
export function durationFlag(v: string): number {
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch (e) {
    if (e instanceof DurationError) throw new InvalidArgumentError(`${e.message}`);
    throw e;
  }
  if (ms <= 0) throw new InvalidArgumentError(`"${v}" must be longer than 0`);
  return ms;
}

/** A whole number of at least 1 (--vus, --iterations). */
export function countFlag(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return n;
}

/**
 * A hidden option that exists only to refuse a habit with a hint (instead of commander's bare "unknown
 * option"): `--vus` on `sch run`, `--profile` on `scenario run`. `flags` as commander takes them, with a value.
 */
export function refusedOption(flags: string, hint: string): Option {
  return new Option(flags, hint).hideHelp().argParser(() => {
    throw new InvalidArgumentError(hint);
  });
}

/**
 * Every command and subcommand: commander's own usage errors (unknown option, missing argument, a value a
 * parser refused) exit 2 — bad input — never 1, which means "claims not as expected". `--help` exits 0.
 * Commands added with addCommand do not inherit exitOverride, hence the walk.
 */
export function usageErrorsExit2(root: Command): void {
  const walk = (c: Command) => {
    c.showHelpAfterError('(add --help for usage)');
    c.exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.badInput));
    for (const sub of c.commands) walk(sub);
  };
  walk(root);
}
