/** Hard limits of the filter language, enforced before any SQL is built (PocketBase's values where it has one). */

/** Max characters of a client `?filter=` (PocketBase's MaxFilterLength). */
export const MAX_CLIENT_FILTER_LENGTH = 3500;
/** Max characters of any expression (rules are superuser-written but still bounded). */
export const MAX_EXPRESSION_LENGTH = 100_000;
/** Max `a op b` comparisons in one expression (PocketBase's DefaultFilterExprLimit). */
export const MAX_EXPRESSIONS = 200;
/** Max parenthesis nesting; checked while lexing so hostile nesting never reaches the recursive parser. */
export const MAX_DEPTH = 32;
/** Max nesting of function calls inside function arguments. */
export const MAX_CALL_DEPTH = 2;
/** Max relation hops in one identifier (PocketBase's maxNestedRels). */
export const MAX_RELATION_HOPS = 6;
/** Max sort fields and max length of one sort field name. */
export const MAX_SORT_FIELDS = 8;
/** Max characters of one sort field name. */
export const MAX_SORT_FIELD_LENGTH = 255;
/** Parsed ASTs kept by source string. */
export const PARSE_CACHE_SIZE = 1000;
