/**
 * The filter AST: frozen plain objects with a `kind` discriminator. Positions are 0-based character
 * offsets into the source, for error messages.
 */

/** Comparison operators without the `?` (any-match) prefix. */
export type CompareOp = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~' | '!~';

/** Every comparison operator, in a closed list (the lexer accepts nothing else). */
export const COMPARE_OPS: readonly CompareOp[] = ['=', '!=', '>', '>=', '<', '<=', '~', '!~'];

/** A field path, `@request.*`, `@collection.*` or macro name, resolved later against the schema. */
export interface IdentifierNode {
  readonly kind: 'identifier';
  readonly name: string;
  readonly pos: number;
}
/** Quoted text, already unescaped. */
export interface TextNode {
  readonly kind: 'text';
  readonly value: string;
  readonly pos: number;
}
/** A number literal (`raw` keeps the source spelling for messages). */
export interface NumberNode {
  readonly kind: 'number';
  readonly value: number;
  readonly raw: string;
  readonly pos: number;
}
/** `true` / `false`, any case. */
export interface BoolNode {
  readonly kind: 'bool';
  readonly value: boolean;
  readonly pos: number;
}
/** `null`, any case. */
export interface NullNode {
  readonly kind: 'null';
  readonly pos: number;
}
/** `name(arg, …)`: a function from the closed table in functions.ts. */
export interface CallNode {
  readonly kind: 'call';
  readonly name: string;
  readonly args: readonly OperandNode[];
  readonly pos: number;
}

/** One side of a comparison. */
export type OperandNode = IdentifierNode | TextNode | NumberNode | BoolNode | NullNode | CallNode;

/** `left op right`; `any` is the `?op` form (match at least one value of a multi-valued operand). */
export interface CompareNode {
  readonly kind: 'compare';
  readonly op: CompareOp;
  readonly any: boolean;
  readonly left: OperandNode;
  readonly right: OperandNode;
  readonly pos: number;
}
/** Two or more conditions joined by `&&` (binds tighter than `||`, as in SQL). */
export interface AndNode {
  readonly kind: 'and';
  readonly items: readonly ExprNode[];
}
/** Two or more conditions joined by `||`. */
export interface OrNode {
  readonly kind: 'or';
  readonly items: readonly ExprNode[];
}

/** A boolean expression: the root of every parsed filter. */
export type ExprNode = CompareNode | AndNode | OrNode;
