/**
 * The vocabulary chaos/ shares with the rest of the harness, in one place: the only module of
 * chaos/ that names src/ for types. Everything else a fault needs from a lab is the `FaultLab`
 * interface (fault.ts), which `Lab` satisfies structurally.
 */
export { DEPENDENCY_NAMES, type DependencyName } from '../src/topology/topology.js';
export type { FaultMechanism } from '../src/results/model.js';

import type { DependencyName } from '../src/topology/topology.js';

/** A server the lab starts: a dependency, Toxiproxy in front of them, or nginx, the public entry (src/lab/services/types.ts `ServiceName`). */
export type LabServiceName = DependencyName | 'toxiproxy' | 'nginx';
