/**
 * The weather tool the client-check scripts offer the Vercel AI SDK, so that
 * the demo model answers with a call to it.
 */

import { jsonSchema, tool } from 'ai';

export const aiWeatherTools = {
  get_weather: tool({
    description: 'Weather for a city',
    inputSchema: jsonSchema<{ city: string }>({
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    }),
  }),
};
