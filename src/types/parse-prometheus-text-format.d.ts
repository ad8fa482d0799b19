// The package ships no types: its default export, as far as the harness relies on it (the result is
// checked with zod in src/experiment/prometheus-text.ts).
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown;
}
