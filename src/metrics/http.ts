/**
 * Request metrics: a count and a latency histogram per route pattern, method and status, and the requests in
 * flight. The route is the pattern the router matched (`/api/collections/:collection/records/:id`, a custom
 * route's declared path), never the raw URL, so the label sets stay bounded; a request no route matched is
 * `route=""`. Per request: two counter bumps and, at the end, two Map look-ups on strings/numbers that already
 * exist plus one histogram observation.
 */
import { HistogramFamily, type HistogramChild } from './families.js';

/** Seconds; the default Prometheus buckets with 1 ms and 2.5 ms added below (views answer in about a millisecond). */
export const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class RequestMetrics {
  readonly duration = new HistogramFamily(
    'plinth_http_request_duration_seconds',
    'HTTP request latency, from the request to the answer being sent.',
    HTTP_BUCKETS,
  );
  /** route → method → status → child */
  private readonly byRoute = new Map<string, Map<string, Map<number, HistogramChild>>>();
  private started = 0;
  private finished = 0;

  /** Called as a request arrives. */
  start(): void {
    this.started++;
  }

  /**
   * Called once per request as its answer is sent (or, for a stream, as it starts), with the onRequest time; 0
   * for an answer given before onRequest ran (a URL the router refused), which was never counted as started.
   */
  finish(route: string, method: string, status: number, startedAt: number): void {
    if (startedAt > 0) this.finished++;
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let child = byStatus.get(status);
    if (child === undefined) byStatus.set(status, (child = this.duration.child({ method, route, status: String(status) })));
    child.observe(startedAt > 0 ? (performance.now() - startedAt) / 1000 : 0);
  }

  /** Requests that arrived and are not answered yet (a scrape counts itself). */
  get inFlight(): number {
    return Math.max(0, this.started - this.finished);
  }
}
