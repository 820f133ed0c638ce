/**
 * Flag parsing for the CLI on `node:util` `parseArgs` in strict mode: `--name=value`, `--name value`,
 * `--flag`, `-h`. Unknown flags, missing values and extra positional arguments are UsageErrors (exit 2),
 * so a typo is an error rather than silently ignored.
 */
import { parseArgs as nodeParseArgs } from 'node:util';

export class UsageError extends Error {}

export interface CommandSpec {
  /** The command as typed, for messages ("serve", "migrate"). */
  name: string;
  /** Flags and their kinds; `help` (`--help`/`-h`) is always accepted. */
  flags: Record<string, 'string' | 'boolean'>;
  /** How many positional arguments the command takes at most (default 0). */
  maxPositionals?: number;
}

export interface ParsedCommand {
  positional: string[];
  flags: Record<string, string | true>;
  help: boolean;
}

/** Parses a subcommand's arguments (the words after its name) against its spec. */
export function parseCommand(argv: string[], spec: CommandSpec): ParsedCommand {
  const hint = `Run "plinth ${spec.name} --help" for its flags.`;
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, type] of Object.entries(spec.flags)) options[name] = { type };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = nodeParseArgs({ args: booleanValues(argv, spec.flags), options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError(`${usageMessage(err)} ${hint}`);
  }
  const flags: Record<string, string | true> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (name === 'help' || value === undefined || value === false) continue;
    flags[name] = value;
  }
  const help = parsed.values.help === true;
  const max = spec.maxPositionals ?? 0;
  if (!help && parsed.positionals.length > max) {
    const extra = parsed.positionals
      .slice(max)
      .map((p) => JSON.stringify(p))
      .join(' ');
    throw new UsageError(`Unexpected argument${parsed.positionals.length - max > 1 ? 's' : ''} ${extra} for "plinth ${spec.name}". ${hint}`);
  }
  return { positional: parsed.positionals, flags, help };
}

/**
 * The earlier hand-written parser's interface (no limit on positionals), kept for subcommand modules that
 * use it: `known` maps flag names to their kinds.
 */
export function parseArgs(argv: string[], known: Record<string, 'string' | 'boolean'>): { positional: string[]; flags: Record<string, string | true> } {
  const { help: _help, h: _h, ...flags } = known;
  const r = parseCommand(argv, { name: 'command', flags, maxPositionals: Number.MAX_SAFE_INTEGER });
  return { positional: r.positional, flags: { ...r.flags, ...(r.help ? { help: true as const, h: true as const } : {}) } };
}

/** `--dev=true` / `--dev=false` (accepted before parseArgs): true drops the value, false drops the flag. */
function booleanValues(argv: string[], flags: Record<string, 'string' | 'boolean'>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--([^=]+)=(true|false|1|0)$/.exec(arg);
    if (m && flags[m[1] as string] === 'boolean') {
      if (m[2] === 'true' || m[2] === '1') out.push(`--${m[1]}`);
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** parseArgs' errors, in a shorter form. */
function usageMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const text = e.message ?? '';
  const named = /(--[A-Za-z][\w-]*)/.exec(text)?.[1] ?? /'(-[^' ,]+)/.exec(text)?.[1] ?? '?';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown flag "${named}".`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(text)) return `Flag "${named}" takes no value.`;
      return `Flag "${named}" needs a value (e.g. ${named}=VALUE).`;
    default:
      return String(e.message ?? err);
  }
}
