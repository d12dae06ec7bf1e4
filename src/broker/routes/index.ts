import type { FastifyInstance } from 'fastify';
import type { BrokerContext } from '../context.js';
import { authRoutes } from './auth.js';
import { grantRoutes } from './grants.js';
import { healthRoutes } from './health.js';
import { targetRoutes } from './targets.js';

export type BrokerRoutes = (app: FastifyInstance, ctx: BrokerContext) => void;

/** Every route module of the broker's HTTP API, registered in this order. */
export const routes: BrokerRoutes[] = [healthRoutes, authRoutes, targetRoutes, grantRoutes];
