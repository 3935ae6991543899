// Argument parsing for the command line: every command declares its options once, and from that
// declaration come its usage text, its --help, and one-line errors for what does not fit it.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** A mistake in how the command was called or in its input: one line to stderr, then the usage, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage of the command concerned, printed after the message. */
    readonly usage?: string,
  ) {
    super(message);
  }
}

export interface CommandSpec {
  /** The words that name it: `clients create`. */
  readonly name: string;
  /** Its arguments after the name, as shown in the usage: `--name N --scopes S[,S] [--json]`. */
  readonly synopsis: string;
  /** What it does, one or two short lines. */
  readonly about: string;
  readonly options?: Options;
  /** Names of the positional arguments it requires, in order. */
  readonly positionals?: readonly string[];
}

export interface Parsed {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: readonly string[];
}

/** Options every command that opens the database accepts. */
export const INIT_OPTION: Options = { init: { type: 'boolean' } };

export function usageOf(spec: CommandSpec): string {
  return `usage: mfa-controller ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ''}\n\n  ${spec.about.split('\n').join('\n  ')}`;
}

export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** Parses `args` against the spec; a UsageError naming the first thing that does not fit. */
export function parseCommand(spec: CommandSpec, args: readonly string[]): Parsed {
  const usage = usageOf(spec);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options: spec.options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${spec.name}: ${describeParseError(err)}`, usage);
  }
  const expected = spec.positionals ?? [];
  const { positionals } = parsed;
  if (positionals.length < expected.length) throw new UsageError(`${spec.name}: missing ${expected.slice(positionals.length).join(' ')}`, usage);
  if (positionals.length > expected.length) throw new UsageError(`${spec.name}: unexpected argument "${positionals[expected.length]}"`, usage);
  return { values: parsed.values as Parsed['values'], positionals };
}

/** Node's parseArgs messages, shortened to the part that names what was wrong. */
function describeParseError(err: unknown): string {
  const { code, message } = err as { code?: string; message?: string };
  const text = message ?? String(err);
  const option = /'(-{1,2}[^' ]+)/.exec(text)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? text}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing|ambiguous/.test(text) ? `option ${option ?? ''} needs a value` : `option ${option ?? ''} takes no value`;
    default:
      return text;
  }
}

/** A whole number from `min` to `max` given to `option`, or a UsageError. */
export function wholeNumber(option: string, text: string, min: number, max: number, usage?: string): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got "${text}"`, usage);
  }
  return Number(text);
}
