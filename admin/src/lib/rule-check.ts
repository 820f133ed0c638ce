// Checks a rule or filter against a (draft) collection on the server, as the save would.
import { pb, isMissingEndpoint } from './pb';

export interface CheckResult {
  valid: boolean;
  message?: string;
  position?: number;
  length?: number;
}

let unsupported = false;

export async function checkExpression(collection: unknown, expr: string, kind: 'rule' | 'filter'): Promise<CheckResult> {
  if (unsupported || expr.trim() === '') return { valid: true };
  try {
    return await pb.send<CheckResult>('/api/collections/meta/validate-rule', { method: 'POST', body: { collection, expr, kind } });
  } catch (err) {
    if (isMissingEndpoint(err)) unsupported = true;
    throw err;
  }
}
