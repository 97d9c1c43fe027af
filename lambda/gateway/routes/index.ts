/**
 * The gateway's route table: one row per route, naming its path, its method,
 * its name on the usage record, and the module that answers it. A new route
 * is one module here and one row (its name also goes in `USAGE_ROUTES`).
 */

import type { RouteRow } from '../pipeline/route';
import { chatCompletions } from './chat-completions';
import { embeddings } from './embeddings';
import { health } from './health';
import { imageGenerations } from './image-generations';
import { listModels, MODEL_PATH, retrieveModel } from './models';
import { responses } from './responses';

export const ROUTE_TABLE: readonly RouteRow[] = [
  {
    method: 'POST',
    path: '/v1/chat/completions',
    name: 'chat_completions',
    route: chatCompletions,
  },
  { method: 'POST', path: '/v1/responses', name: 'responses', route: responses },
  {
    method: 'POST',
    path: '/v1/images/generations',
    name: 'image_generations',
    route: imageGenerations,
  },
  { method: 'POST', path: '/v1/embeddings', name: 'embeddings', route: embeddings },
  { method: 'GET', path: '/v1/models', name: 'models', route: listModels },
  { method: 'GET', path: MODEL_PATH, name: 'model', route: retrieveModel },
  { method: 'GET', path: '/healthz', name: 'healthz', route: health },
];
