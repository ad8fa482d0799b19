import type { LabPorts, DependencyName } from '../../topology/topology.js';
import type { LabCredentials } from '../credentials.js';
import type { BinaryPaths } from '../paths.js';
import type { ProcessSpec } from '../process.js';

/** The dependencies, Toxiproxy, and nginx: the public entry in front of the target's gateway. */
export type ServiceName = DependencyName | 'toxiproxy' | 'nginx';

/** What a service definition needs to know about the lab it starts in. */
export interface LabContext {
  labName: string;
  /** The lab's folder: data/, logs/, state file. */
  dir: string;
  /** Address every lab service binds (the namespace end of the veth, or 127.0.0.1 without a namespace). */
  address: string;
  ports: LabPorts;
  credentials: LabCredentials;
  bins: BinaryPaths;
  /** Namespace name, or null when the lab runs on the host loopback. */
  netns: string | null;
  /** Running as root: some servers must then drop to a system user (PostgreSQL) or be told it's fine (Cassandra). */
  asRoot: boolean;
}

/** One real server of the lab: how to prepare and start it, and how to know it is serving. */
export interface ServiceDefinition {
  name: ServiceName;
  /** Create data folders and config files; return the process to start. */
  prepare(ctx: LabContext): Promise<ProcessSpec>;
  /** Resolves when the server answers a real request; rejects with the reason otherwise. */
  probe(ctx: LabContext): Promise<string>;
  /** One-time work after the first healthy probe (create database, users, bucket). */
  initialize?(ctx: LabContext): Promise<void>;
  /** Files that must exist before it can start (binaries, jars), to fail early with a setup hint. */
  requires(bins: BinaryPaths): string[];
  /** How long it may take to become healthy. */
  startTimeoutMs: number;
}
