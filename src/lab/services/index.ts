import { cassandraService } from './cassandra.js';
import { coturnService } from './coturn.js';
import { minioService } from './minio.js';
import { nginxService } from './nginx.js';
import { postgresService } from './postgres.js';
import { pushService } from './push.js';
import { redisService } from './redis.js';
import { toxiproxyService } from './toxiproxy.js';
import type { ServiceDefinition } from './types.js';

/** Start order; all start at once, Cassandra first since it takes longest. nginx is the public entry, fronting no target yet. */
export const SERVICES: readonly ServiceDefinition[] = [cassandraService, toxiproxyService, redisService, postgresService, minioService, coturnService, pushService, nginxService];
