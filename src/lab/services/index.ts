import { cassandraService } from './cassandra.js';
import { coturnService } from './coturn.js';
import { minioService } from './minio.js';
import { postgresService } from './postgres.js';
import { redisService } from './redis.js';
import { toxiproxyService } from './toxiproxy.js';
import type { ServiceDefinition } from './types.js';

/** Start order; all start at once, Cassandra first since it takes longest. */
export const SERVICES: readonly ServiceDefinition[] = [cassandraService, toxiproxyService, redisService, postgresService, minioService, coturnService];
