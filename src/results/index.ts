export * from './model.js';
export { TrendHistogram, HISTOGRAM_SCALE, type SignificantDigits } from './histogram.js';
export { TrendAccumulator, RateAccumulator, CounterAccumulator, GaugeAccumulator, newAccumulator, type Accumulator } from './accumulators.js';
export { readK6Samples, K6Tail, K6LineParser, parseK6Time, fileSize, type K6ReadOptions, type K6ReadResult, type K6TailOptions } from './k6-reader.js';
export { ResultPipeline, selectorLabel, type ResultPipelineOptions } from './pipeline.js';
export { ProgressMeter, type ProgressSnapshot } from './progress.js';
