// Reading /metrics back (soak, tests): the Prometheus text format parsed by a kept parser.
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';

export type { PrometheusFamily };
export const parseMetricsText = (text: string): PrometheusFamily[] => parsePrometheusTextFormat(text);

/** The value of every counter and gauge that has one sample without labels, by name. */
export function scalarMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of parseMetricsText(text)) {
    const [only] = f.metrics;
    if ((f.type === 'COUNTER' || f.type === 'GAUGE') && f.metrics.length === 1 && only.value !== undefined && !Object.keys(only.labels ?? {}).length)
      out[f.name] = Number(only.value);
  }
  return out;
}
