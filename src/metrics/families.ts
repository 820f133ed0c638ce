/**
 * Counters and histograms cheap enough for the request path: a label set is looked up once and its child
 * kept by the caller (or in a nested Map keyed by values that already exist as strings/numbers), and an
 * observation is a bucket search and a few additions, no allocation. prom-client's own `observe` hashes the
 * label object on every call (~0.6 µs measured); these are registered in a prom-client `Registry` at scrape
 * time through the metric interface it reads (`name`, `help`, `type`, `get()`), so the text format, escaping
 * and the default process metrics stay prom-client's.
 */

export type Labels = Readonly<Record<string, string>>;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What prom-client's Registry reads from a registered metric. */
export interface RegistryMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }>;
}

export class HistogramChild {
  /** Per-bucket counts (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

/** A histogram family; `child(labels)` is the slow path (once per label set), `observe` on the child the hot one. */
export class HistogramFamily implements RegistryMetric {
  readonly type = 'histogram' as const;
  private readonly children = new Map<string, HistogramChild>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}

  child(labels: Labels): HistogramChild {
    const key = labelKey(labels);
    let c = this.children.get(key);
    if (!c) {
      c = new HistogramChild(labels, this.bounds);
      this.children.set(key, c);
    }
    return c;
  }

  all(): IterableIterator<HistogramChild> {
    return this.children.values();
  }

  async get() {
    const values: MetricValue[] = [];
    for (const c of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += c.counts[i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...c.labels, le: this.bounds[i] as number }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { ...c.labels, le: '+Inf' }, value: c.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...c.labels }, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...c.labels }, value: c.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }
}

/**
 * A counter or gauge whose values are read when scraped: `read()` returns the current label sets and values
 * (a query, a stat, counters kept as plain numbers by the service that owns them).
 */
export class ScrapedFamily implements RegistryMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    private readonly read: () => Promise<Array<[Labels, number]>> | Array<[Labels, number]>,
  ) {}

  async get() {
    const rows = await this.read();
    const values = rows.map(([labels, value]) => ({ labels: { ...labels }, value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }
}

/** A counter derived from histograms: each child's observation count under its labels. */
export function countOf(name: string, help: string, histogram: HistogramFamily): ScrapedFamily {
  return new ScrapedFamily(name, help, 'counter', () => [...histogram.all()].map((c) => [c.labels, c.count]));
}

function labelKey(labels: Labels): string {
  let key = '';
  for (const k of Object.keys(labels).sort()) key += `${k}\u0000${labels[k]}\u0001`;
  return key;
}
