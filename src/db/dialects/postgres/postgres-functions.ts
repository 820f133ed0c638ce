/**
 * SQL helper functions Plinth installs in a PostgreSQL database, so its dialect can mirror SQLite's
 * forgiving behaviour: JSON parsing that yields NULL instead of an error, numeric casts that yield 0, and
 * SQLite's strftime (format codes and the common modifiers) on top of PostgreSQL's date functions.
 * Installed idempotently under an advisory lock, so several nodes can start at once.
 */
import { sql, type Sql } from '../../sql.js';

export const INSTALL_LOCK = sql`SELECT pg_advisory_xact_lock(7201148901)`;

export const HELPER_FUNCTIONS: readonly Sql[] = [
  sql`CREATE OR REPLACE FUNCTION plinth_jsonb(t text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF t IS NULL OR t = '' THEN RETURN NULL; END IF;
  RETURN t::jsonb;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$`,
  sql`CREATE OR REPLACE FUNCTION plinth_num(t text) RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF t IS NULL THEN RETURN NULL; END IF;
  RETURN t::double precision;
EXCEPTION WHEN others THEN
  RETURN 0;
END $$`,
  // SQLite's comparison of two values of any kind: NULL (SQL or JSON) → NULL; booleans count as 1/0;
  // numbers compare numerically, text bytewise; a number is less than any text. Objects and arrays
  // compare as their JSON text, which is what SQLite's json_extract gives for them.
  sql`CREATE OR REPLACE FUNCTION plinth_cmp(a jsonb, b jsonb) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  ta text := jsonb_typeof(a);
  tb text := jsonb_typeof(b);
  x text;
  y text;
BEGIN
  IF ta IS NULL OR tb IS NULL OR ta = 'null' OR tb = 'null' THEN RETURN NULL; END IF;
  IF ta = 'boolean' THEN a := to_jsonb(CASE WHEN a = 'true'::jsonb THEN 1 ELSE 0 END); ta := 'number'; END IF;
  IF tb = 'boolean' THEN b := to_jsonb(CASE WHEN b = 'true'::jsonb THEN 1 ELSE 0 END); tb := 'number'; END IF;
  IF ta = 'number' AND tb = 'number' THEN
    RETURN sign((a #>> '{}')::double precision - (b #>> '{}')::double precision)::int;
  END IF;
  IF ta = 'number' THEN RETURN -1; END IF;
  IF tb = 'number' THEN RETURN 1; END IF;
  x := CASE WHEN ta = 'string' THEN a #>> '{}' ELSE a::text END;
  y := CASE WHEN tb = 'string' THEN b #>> '{}' ELSE b::text END;
  RETURN CASE WHEN x COLLATE "C" < y COLLATE "C" THEN -1 WHEN x COLLATE "C" > y COLLATE "C" THEN 1 ELSE 0 END;
END $$`,
  // SQLite's NUMERIC affinity: text that looks like a number is that number, anything else stays text.
  sql`CREATE OR REPLACE FUNCTION plinth_num_affinity(t text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN t IS NULL THEN NULL
    WHEN t ~ '^[[:space:]]*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?[[:space:]]*$' THEN to_jsonb(t::double precision)
    ELSE to_jsonb(t) END
$$`,
  sql`CREATE OR REPLACE FUNCTION plinth_strftime(fmt text, val text, mods text[]) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  ts timestamptz;
  m text;
  n double precision;
  unit text;
  out text := '';
  i int := 1;
  c text;
BEGIN
  IF fmt IS NULL THEN RETURN ''; END IF;
  IF val IS NULL THEN ts := now();
  ELSIF val = '' THEN RETURN '';
  ELSIF mods IS NOT NULL AND 'unixepoch' = ANY(mods) THEN ts := to_timestamp(val::double precision);
  ELSIF val = 'now' THEN ts := now();
  ELSE ts := val::timestamptz;
  END IF;
  FOREACH m IN ARRAY COALESCE(mods, ARRAY[]::text[]) LOOP
    m := lower(trim(m));
    IF m = 'start of month' THEN ts := date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    ELSIF m = 'start of year' THEN ts := date_trunc('year', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    ELSIF m = 'start of day' THEN ts := date_trunc('day', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    ELSIF m IN ('unixepoch', 'utc', 'localtime', 'auto', 'subsec', 'subsecond') THEN NULL;
    ELSIF m ~ '^[+-]?[0-9.]+ +(second|minute|hour|day|month|year)s?$' THEN
      n := split_part(m, ' ', 1)::double precision;
      unit := regexp_replace(split_part(regexp_replace(m, ' +', ' ', 'g'), ' ', 2), 's$', '');
      ts := ts + ((n::text || ' ' || unit)::interval);
    ELSE
      RETURN '';
    END IF;
  END LOOP;
  ts := ts AT TIME ZONE 'UTC';
  WHILE i <= length(fmt) LOOP
    c := substr(fmt, i, 1);
    IF c = '%' AND i < length(fmt) THEN
      i := i + 1;
      c := substr(fmt, i, 1);
      out := out || CASE c
        WHEN 'd' THEN to_char(ts, 'DD')
        WHEN 'f' THEN to_char(ts, 'SS.MS')
        WHEN 'H' THEN to_char(ts, 'HH24')
        WHEN 'j' THEN to_char(ts, 'DDD')
        WHEN 'm' THEN to_char(ts, 'MM')
        WHEN 'M' THEN to_char(ts, 'MI')
        WHEN 's' THEN floor(extract(epoch FROM ts::timestamp AT TIME ZONE 'UTC'))::bigint::text
        WHEN 'S' THEN to_char(ts, 'SS')
        WHEN 'w' THEN extract(dow FROM ts)::int::text
        WHEN 'W' THEN lpad(floor((extract(doy FROM ts) + 6 - ((extract(dow FROM ts)::int + 6) % 7)) / 7)::int::text, 2, '0')
        WHEN 'Y' THEN to_char(ts, 'YYYY')
        WHEN '%' THEN '%'
        ELSE '%' || c
      END;
    ELSE
      out := out || c;
    END IF;
    i := i + 1;
  END LOOP;
  RETURN out;
EXCEPTION WHEN others THEN
  RETURN '';
END $$`,
];
