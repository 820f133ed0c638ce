/**
 * PocketBase's type inference for plain multipart / urlencoded values (`tools/router/unmarshal_request_data.go`
 * `inferValue`). Forms can only carry strings, so the server guesses booleans and numbers the same way PocketBase
 * does; the JS SDK relies on it when it turns a record with a file into FormData.
 */

/** Only strings made of these characters can become numbers (Go: `^[\-\.\d]+$`, ASCII digits). */
const NUMBER_CHARS = /^[-.0-9]+$/;

/**
 * Infers a single form value the way PocketBase does:
 * - `""` stays `""`; `"true"` / `"false"` become booleans;
 * - a numeric string becomes a number only when Go's minimal `%f` formatting of the parsed float is identical to
 *   the input (`"12"` → 12, `"-1.5"` → -1.5), so `"0001"`, `"1e3"`, `"0.0"`, `"1.50"`, `" 1"`, `"+1"`, `".5"` stay strings;
 * - everything else is returned unchanged.
 */
export function inferValue(s: string): unknown {
  if (s === '') return s;
  if (s === 'true') return true;
  if (s === 'false') return false;
  const first = s.charCodeAt(0);
  // Go checks the first byte first: a leading '.' (".5") is never a number.
  const startsOk = first === 45 /* - */ || (first >= 48 && first <= 57);
  if (!startsOk || !NUMBER_CHARS.test(s)) return s;
  const n = Number(s);
  // Number() accepts what ParseFloat rejects only for strings the regex already excludes ("", " 1", "0x1");
  // overflow to ±Infinity is ParseFloat's ErrRange, so it stays a string too.
  if (!Number.isFinite(n)) return s;
  return formatFloatF(n) === s ? n : s;
}

/**
 * Infers every value submitted under one key: one value → the inferred value, several → an array of inferred
 * values (PocketBase turns a repeated form key into an array).
 */
export function inferValues(values: readonly string[]): unknown {
  if (values.length === 1) return inferValue(values[0] as string);
  return values.map(inferValue);
}

/**
 * Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that round-trip, always written in positional
 * notation (never an exponent), with a `-` for negative zero. JS `String(n)` gives the same shortest digits but
 * switches to exponent notation outside [1e-7, 1e21), so the digits are re-laid out here.
 */
export function formatFloatF(v: number): string {
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  const s = String(Math.abs(v));
  const e = s.indexOf('e');
  const mantissa = e < 0 ? s : s.slice(0, e);
  const exp = e < 0 ? 0 : Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const intPart = dot < 0 ? mantissa : mantissa.slice(0, dot);
  let digits = intPart + (dot < 0 ? '' : mantissa.slice(dot + 1));
  // value = 0.<digits> × 10^point
  let point = intPart.length + exp;
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, '');
  if (digits === '') return `${sign}0`;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
