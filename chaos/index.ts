/** The fault side of an experiment: one API over Toxiproxy, nftables (UDP) and process signals. */
export { FaultError, type Fault, type FaultContext, type FaultLab, type FaultProcessRecord, type CheckResult } from './fault.js';
export { createFault, parseFaultSpec, formatIssues, FaultSpecSchema, FaultIdSchema, ToxicSpecSchema, UdpSpecSchema, ProcessSpecSchema, TOXIC_TYPES } from './spec.js';
export type { FaultSpec, NamedFaultSpec, ToxicSpec, UdpSpec, ProcessFaultSpec, ToxicType, ToxicStream, UdpAction, ProcessAction } from './spec.js';
export { MECHANISMS, type Mechanism, type MechanismSpec, type SpecKind, type SweepContext } from './mechanisms.js';
export { listNamedFaults, namedFault, NAMED_FAULT_NAMES, type NamedFault, type NamedFaultInfo } from './named.js';
export { cleanupFaults, type CleanupReport } from './cleanup.js';
export { readJournal, journalFile, type JournalEntry } from './journal.js';
export { probeRtt, probeRtts, probeBurst, probeCloseDelay, type RttSample, type BurstResult } from './path-probe.js';
export { stunBurst, type StunBurstResult } from './udp/stun-burst.js';
