/**
 * A small flag parser for the CLI (`--name=value`, `--name value`, `--flag`), strict about unknown flags
 * so a typo is an error rather than silently ignored.
 */
export interface ParsedArgs {
  positional: string[];
  flags: Record<string, string | true>;
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], known: Record<string, 'string' | 'boolean'>): ParsedArgs {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new UsageError(`Invalid flag "${arg}".`);
    const name = m[1] as string;
    const kind = known[name];
    if (!kind) throw new UsageError(`Unknown flag "--${name}".`);
    if (kind === 'boolean') {
      if (m[2] !== undefined && !['true', 'false', '1', '0'].includes(m[2])) throw new UsageError(`Flag "--${name}" takes no value.`);
      if (m[2] === 'false' || m[2] === '0') continue;
      flags[name] = true;
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`Flag "--${name}" needs a value.`);
      i++;
    }
    flags[name] = value;
  }
  return { positional, flags };
}
