/**
 * `geoPoint`: `{lon, lat}` in degrees, stored as JSON text, zero value `{"lon":0,"lat":0}` (which also
 * counts as "empty" for `required`).
 */
import { fieldError, type FieldErrors } from '../../errors/index.js';
import type { GeoPointField } from '../model.js';
import {
  baseDefinitionErrors,
  errorsOrNull,
  errRequired,
  errUnsupportedType,
  invalid,
  isPlainObject,
  definedBy,
  type FieldTypeImpl,
  type OptionSpecs,
} from './common.js';
import type { InvalidValue } from './field-type.js';

/** A geographic point. */
export interface GeoPoint {
  lon: number;
  lat: number;
}

const EXPECTED = 'an object {"lon": number, "lat": number}';

function zero(): GeoPoint {
  return { lon: 0, lat: 0 };
}

function readPoint(value: unknown): GeoPoint | null {
  if (!isPlainObject(value)) return null;
  const { lon, lat } = value;
  if (typeof lon !== 'number' || typeof lat !== 'number' || !Number.isFinite(lon) || !Number.isFinite(lat)) return null;
  return { lon: lon + 0, lat: lat + 0 }; // -0 + 0 is 0: JSON has no negative zero
}

/** Coerces a client value (an object, or its JSON text from form data) to a point. */
export function toGeoPoint(raw: unknown): GeoPoint | InvalidValue {
  if (raw === undefined || raw === null || raw === '') return zero();
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      return invalid(errUnsupportedType(EXPECTED));
    }
  }
  return readPoint(value) ?? invalid(errUnsupportedType(EXPECTED));
}

const OPTIONS: OptionSpecs = { required: { kind: 'bool', default: false } };

/** The `geoPoint` field type. */
export const geoPointFieldType: FieldTypeImpl<GeoPointField> = {
  ...definedBy<GeoPointField>('geoPoint', OPTIONS),
  validateDefinition(field) {
    return errorsOrNull(baseDefinitionErrors(field) as FieldErrors);
  },
  columnKind() {
    return 'json';
  },
  zeroValue() {
    return zero();
  },
  prepareValue(raw) {
    return toGeoPoint(raw);
  },
  validateValue(value, field) {
    const point = readPoint(value);
    if (!point) return errUnsupportedType(EXPECTED);
    if (point.lon === 0 && point.lat === 0) return field.required ? errRequired() : null;
    if (point.lat < -90 || point.lat > 90) return fieldError('validation_invalid_latitude', 'Latitude must be between -90 and 90 degrees.');
    if (point.lon < -180 || point.lon > 180) return fieldError('validation_invalid_longitude', 'Longitude must be between -180 and 180 degrees.');
    return null;
  },
  toDb(value) {
    const point = readPoint(value) ?? zero();
    return JSON.stringify({ lon: point.lon, lat: point.lat });
  },
  fromDb(raw) {
    if (raw === null || raw === undefined || raw === '') return zero();
    let value: unknown = raw;
    if (typeof raw === 'string' || raw instanceof Uint8Array) {
      try {
        value = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8')) as unknown;
      } catch {
        return zero();
      }
    }
    return readPoint(value) ?? zero();
  },
};
