/** Compile options (public) and the per-compile context threaded through the resolver (internal). */
import type { Collection, SchemaLookup } from '../collections/model.js';
import type { Dialect } from '../db/dialect.js';
import { isSafeIdentifier, type Sql } from '../db/sql.js';
import type { RequestInfo } from './request-info.js';
import { isSuperuser } from './request-info.js';
import { createAliasGenerator, JoinScope, type AliasGenerator } from './scope.js';

/** Where an expression comes from: a collection rule (superuser-written) or a client's ?filter / ?sort. */
export type CompileMode = 'rule' | 'client';

/** What compileFilter / compileSort need to know; see index.ts for how callers embed the result. */
export interface CompileOptions {
  /** The collection whose records the root alias stands for. */
  collection: Collection;
  schema: SchemaLookup;
  dialect: Dialect;
  /** Alias of the root row source in the caller's FROM (`… AS "<rootAlias>"`). */
  rootAlias: string;
  request: RequestInfo;
  mode: CompileMode;
  /** Clock for the date macros and argument-less strftime (default: now). */
  now?: Date;
  /** Share one generator between compiles that nest inside each other's scope (default: a fresh `_rl` one). */
  aliases?: AliasGenerator;
}

/** Everything the resolver needs for one expression. */
export interface CompileContext {
  readonly collection: Collection;
  readonly schema: SchemaLookup;
  readonly dialect: Dialect;
  readonly rootAlias: string;
  readonly request: RequestInfo;
  readonly now: Date;
  /** Client mode without superuser auth: hidden fields, @request/@collection and locked relations are off limits. */
  readonly restricted: boolean;
  readonly aliases: AliasGenerator;
  /** Joins shared by every identifier of the expression (its top-level EXISTS). */
  readonly scope: JoinScope;
  /** Compiles another collection's rule against a joined alias (relation-hop listRule enforcement). */
  readonly ruleOn: (collection: Collection, rule: string, alias: string) => Sql;
}

/** Validates caller-supplied options; these are programming errors, so they throw TypeError, not AppError. */
export function checkOptions(opts: CompileOptions): void {
  if (!opts || typeof opts !== 'object') throw new TypeError('compile options are required');
  if (!isSafeIdentifier(opts.rootAlias)) throw new TypeError(`unsafe root alias ${JSON.stringify(opts.rootAlias)}`);
  if (opts.mode !== 'rule' && opts.mode !== 'client') throw new TypeError(`unknown compile mode ${JSON.stringify(opts.mode)}`);
}

/** How a context compiles a hop target's rule (supplied by compile.ts, which owns expression compiling). */
export type RuleCompiler = (parent: CompileContext, collection: Collection, rule: string, alias: string) => Sql;

/** A context for a top-level compile. */
export function createContext(opts: CompileOptions, compileRule: RuleCompiler): CompileContext {
  const aliases = opts.aliases ? skipping(opts.aliases, opts.rootAlias) : createAliasGenerator('_rl', [opts.rootAlias]);
  return withScope(
    {
      collection: opts.collection,
      schema: opts.schema,
      dialect: opts.dialect,
      rootAlias: opts.rootAlias,
      request: opts.request,
      now: opts.now ?? new Date(),
      restricted: opts.mode === 'client' && !isSuperuser(opts.request),
      aliases,
    },
    compileRule,
  );
}

/** A caller's generator, made to never hand out the root alias. */
function skipping(gen: AliasGenerator, reserved: string): AliasGenerator {
  return {
    next() {
      let name = gen.next();
      while (name === reserved) name = gen.next();
      return name;
    },
  };
}

type ContextBase = Omit<CompileContext, 'scope' | 'ruleOn'>;

/** A context with a fresh join scope (each compiled expression gets its own EXISTS). */
export function withScope(base: ContextBase, compileRule: RuleCompiler): CompileContext {
  const ctx: CompileContext = {
    ...base,
    scope: new JoinScope(base.aliases),
    ruleOn: (collection, rule, alias) => compileRule(ctx, collection, rule, alias),
  };
  return ctx;
}
