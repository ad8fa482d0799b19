/**
 * A measured synthetic call as one step of the knee search: the call's consumers, receiver loss, forwarding delay
 * and the worker's and generator's CPU, as the step judgement reads them. What was not measured stays null (the
 * step is then INCONCLUSIVE, never good by default).
 */
import type { SfuStep } from './sfu-step.js';
import type { SyntheticCallResult } from './synthetic-call.js';

export function stepFromCall(level: number, r: SyntheticCallResult): SfuStep {
  return {
    level,
    consumers: r.consumers,
    workerCpu: r.workerCpu,
    loss: r.loss,
    delayP50Ms: r.delayP50Ms,
    delayP95Ms: r.delayP95Ms,
    generatorCpu: r.generatorCpu,
    packets: r.packets,
    silentConsumers: r.silentConsumers,
  };
}
