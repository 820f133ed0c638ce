/**
 * Reads a Prometheus text exposition with `parse-prometheus-text-format` (a real parser, not ours). That parser
 * folds a histogram's series into one label-less sample, so histograms are parsed a second time as untyped
 * lines (`x_bucket`, `x_sum`, `x_count`, each with its labels) and regrouped here.
 */
import { createRequire } from 'node:module';

export interface PromSample {
  labels?: Record<string, string>;
  value?: string;
}
export interface PromFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: PromSample[];
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

export interface HistogramSample {
  labels: Record<string, string>;
  count: number;
  sum: number;
  /** Cumulative counts by `le`. */
  buckets: Map<string, number>;
}

export class Scrape {
  /** Every family by name, as the parser typed it. */
  readonly families: Map<string, PromFamily>;
  /** Every series line by metric name (histogram series under `x_bucket` / `x_sum` / `x_count`). */
  private readonly lines = new Map<string, PromSample[]>();

  constructor(readonly text: string) {
    this.families = new Map(parse(text).map((f) => [f.name, f]));
    for (const f of parse(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'))) {
      const list = this.lines.get(f.name) ?? [];
      list.push(...f.metrics);
      this.lines.set(f.name, list);
    }
  }

  private matching(name: string, labels: Record<string, string>): PromSample[] {
    return (this.lines.get(name) ?? []).filter((m) => Object.entries(labels).every(([k, v]) => (m.labels?.[k] ?? '') === v));
  }

  /** The sum of the matching counter/gauge values; for a histogram, of the matching series' counts. 0 when none. */
  value(name: string, labels: Record<string, string> = {}): number {
    const series = this.families.get(name)?.type === 'HISTOGRAM' ? `${name}_count` : name;
    return this.matching(series, labels).reduce((n, m) => n + Number(m.value ?? 0), 0);
  }

  /** The histogram series whose labels include `labels`. */
  histograms(name: string, labels: Record<string, string> = {}): HistogramSample[] {
    return this.matching(`${name}_count`, labels).map((c) => {
      const own = c.labels ?? {};
      const same = (m: PromSample) => Object.entries(own).every(([k, v]) => m.labels?.[k] === v);
      const buckets = new Map((this.lines.get(`${name}_bucket`) ?? []).filter(same).map((b) => [b.labels?.le ?? '', Number(b.value)] as [string, number]));
      const sum = (this.lines.get(`${name}_sum`) ?? []).find(same);
      return { labels: own, count: Number(c.value), sum: Number(sum?.value ?? NaN), buckets };
    });
  }
}
