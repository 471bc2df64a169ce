/**
 * The "Error groups" saved search: every failed request's access line, grouped by
 * `error.grouping_key` (sorted by it, so one group's lines sit together) with the columns an
 * on-call engineer reads first. In Discover, "Visualize" on error.grouping_key (or the field's
 * top values) gives the per-group counts; `npm run errors` prints the full summary (count,
 * users, first/last seen, sample trace). Registered in kibana-objects.ts's SAVED_SEARCHES.
 */
import { ACCESS_DATASET } from '../../src/contracts';
import type { SavedSearchSpec } from './wire';

export const ERROR_GROUPS_SEARCH: SavedSearchSpec = {
  id: 'recoscope-error-groups',
  title: 'recoscope: error groups',
  description:
    'Failed requests by error.grouping_key (5xx: error type + top frame in our code; 4xx: status + error key + route). ' +
    'trace.id opens the trace in Jaeger. Summary with counts and users: npm run errors.',
  query: `event.dataset : "${ACCESS_DATASET}" and error.grouping_key : *`,
  columns: ['error.grouping_key', 'log.level', 'http.response.status_code', 'reco.user_id', 'error.message', 'trace.id'],
  sort: [
    ['error.grouping_key', 'asc'],
    ['@timestamp', 'desc'],
  ],
};
