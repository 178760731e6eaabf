// A reader for the Prometheus text format, enough for the tests: every sample line as
// metric name, labels and value. Label values are compared exactly.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Scrape {
  constructor(
    readonly text: string,
    readonly samples: readonly Sample[],
  ) {}

  /** Samples of `name` whose labels include every pair of `labels`. */
  find(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The one sample of `name` with exactly these labels; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const want = Object.keys(labels).length;
    const hits = this.find(name, labels).filter((s) => Object.keys(s.labels).length === want);
    if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} ${JSON.stringify(labels)}`);
    return hits[0]?.value;
  }

  /** The HELP and TYPE lines of `name`. */
  meta(name: string): { help?: string; type?: string } {
    const help = new RegExp(`^# HELP ${name} (.*)$`, 'm').exec(this.text)?.[1];
    const type = new RegExp(`^# TYPE ${name} (\\S+)$`, 'm').exec(this.text)?.[1];
    return { ...(help !== undefined ? { help } : {}), ...(type !== undefined ? { type } : {}) };
  }
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseScrape(text: string): Scrape {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return new Scrape(text, samples);
}
