/**
 * recoscope's Kibana content: what people see in Kibana — the `reco-logs*` data view's field
 * formats, six saved searches and the overview dashboard's panels. Only the content lives
 * here; kibana-wire.ts turns it into Kibana's saved object format and kibana-objects.ts
 * renders elk/kibana/saved-objects.ndjson.
 */

import { ACCESS_DATASET, FEEDBACK_DATASET, LOGS_DATA_VIEW_PATTERN } from '../../src/contracts';
import { ERROR_GROUPS_SEARCH } from './error-groups';
import {
  byFilters,
  count,
  filtered,
  overTime,
  percentile,
  ratioFormula,
  topValues,
  uniqueCount,
  xyVisualization,
  type DashboardSpec,
  type DataViewSpec,
  type FieldFormat,
  type LensPanelSpec,
  type SavedSearchSpec,
} from './wire';

export const DATA_VIEW_ID = 'recoscope-reco-logs';
export const DATA_VIEW_PATTERN = LOGS_DATA_VIEW_PATTERN;
export const DASHBOARD_ID = 'recoscope-overview';
/** Where the browser reaches Jaeger's UI (docker-compose publishes it on localhost). */
export const DEFAULT_JAEGER_UI_URL = 'http://localhost:16686';

// ---------------------------------------------------------------------------------------------
// Data view

export function fieldFormats(jaegerUiUrl: string): Record<string, FieldFormat> {
  const base = jaegerUiUrl.replace(/\/+$/, '');
  return {
    // A log line's trace id opens that trace in Jaeger.
    'trace.id': {
      id: 'url',
      params: { type: 'a', urlTemplate: `${base}/trace/{{value}}`, labelTemplate: '{{value}}', openLinkInCurrentTab: false },
    },
    // ECS event.duration is in nanoseconds; people read milliseconds.
    'event.duration': {
      id: 'duration',
      params: {
        inputFormat: 'nanoseconds',
        outputFormat: 'asMilliseconds',
        outputPrecision: 2,
        showSuffix: true,
        useShortSuffix: true,
      },
    },
  };
}

export function dataViewSpec(jaegerUiUrl: string): DataViewSpec {
  return { id: DATA_VIEW_ID, title: DATA_VIEW_PATTERN, name: 'recoscope logs', timeFieldName: '@timestamp', fieldFormats: fieldFormats(jaegerUiUrl) };
}

// ---------------------------------------------------------------------------------------------
// Saved searches (Discover sessions)

const ACCESS = `event.dataset : "${ACCESS_DATASET}"`;

export const SAVED_SEARCHES: SavedSearchSpec[] = [
  {
    id: 'recoscope-errors',
    title: 'recoscope: errors',
    description: 'Server errors (log.level error: 5xx access lines and application errors) and every failed request.',
    query: 'log.level : "error" or (' + ACCESS + ' and event.outcome : "failure")',
    columns: ['log.level', 'http.response.status_code', 'url.path', 'error.type', 'error.message', 'reco.error_key', 'trace.id'],
    sort: [['@timestamp', 'desc']],
  },
  {
    id: 'recoscope-slow-knn',
    title: 'recoscope: slow kNN',
    description: 'kNN recommendation requests (every knn* model) slower than 20 ms (event.duration is in nanoseconds), slowest first.',
    query: `${ACCESS} and reco.model : knn* and event.duration > 20000000`,
    columns: ['reco.model', 'event.duration', 'reco.user_id', 'reco.items_count', 'reco.cold_start', 'http.response.status_code', 'trace.id'],
    sort: [
      ['event.duration', 'desc'],
      ['@timestamp', 'desc'],
    ],
  },
  {
    id: 'recoscope-cold-start',
    title: 'recoscope: cold-start users',
    description: 'Recommendations for users without history: what each model returned and how much came from the popular fallback.',
    query: `${ACCESS} and reco.cold_start : true`,
    columns: ['reco.model', 'reco.user_id', 'reco.items_count', 'reco.fallback', 'event.duration', 'trace.id'],
    sort: [['@timestamp', 'desc']],
  },
  {
    id: 'recoscope-by-model',
    title: 'recoscope: requests by model',
    description: 'Every recommendation request, grouped by model (then newest first).',
    query: `${ACCESS} and reco.model : *`,
    columns: ['reco.model', 'http.response.status_code', 'event.duration', 'reco.user_id', 'reco.k', 'reco.items_count', 'reco.cold_start', 'reco.fallback'],
    sort: [
      ['reco.model', 'asc'],
      ['@timestamp', 'desc'],
    ],
  },
  {
    id: 'recoscope-by-arm',
    title: 'Recommendations by arm',
    description:
      'Every recommendation an experiment served (GET /reco/<experiment>/<user_id>): its arm, the model and version that answered, and the recommendation id its feedback names.',
    query: `${ACCESS} and reco.arm : *`,
    columns: ['reco.experiment', 'reco.arm', 'reco.model', 'reco.model_version', 'http.response.status_code', 'event.duration', 'reco.user_id', 'reco.recommendation_id', 'trace.id'],
    sort: [
      ['reco.arm', 'asc'],
      ['@timestamp', 'desc'],
    ],
  },
  ERROR_GROUPS_SEARCH,
];

// ---------------------------------------------------------------------------------------------
// Dashboard

/** Access-log requests over time, split by KQL filters (one series per filter), stacked. */
function requestsOverTimeByFilters(p: {
  panelIndex: string;
  title: string;
  gridData: LensPanelSpec['gridData'];
  /** Split column id and its label. */
  split: [string, string];
  filters: { label: string; query: string }[];
  countLabel: string;
  seriesType: string;
}): LensPanelSpec {
  const layerId = `layer-${p.panelIndex}`;
  const [splitId, splitLabel] = p.split;
  return {
    panelIndex: p.panelIndex,
    title: p.title,
    gridData: p.gridData,
    visualizationType: 'lnsXY',
    query: ACCESS,
    layerId,
    columns: [
      ['time', overTime()],
      [splitId, byFilters(splitLabel, p.filters)],
      ['requests', count(p.countLabel)],
    ],
    visualization: xyVisualization({ layerId, xAccessor: 'time', splitAccessor: splitId, accessors: ['requests'] }, p.seriesType),
  };
}

const FEEDBACK_CLICK = `event.dataset : "${FEEDBACK_DATASET}" and reco.feedback_event : "click"`;
const RECOMMENDED = `${ACCESS} and http.response.status_code : 200`;

/**
 * Per arm, one row each: requests, error rate (5xx share), p99 latency and CTR (recommendations
 * with a click / recommendations). The table's query takes the access lines AND the feedback
 * lines that name an arm (the service puts the arm on a feedback line when it served that
 * recommendation, src/experiments/recent.ts); each column filters the kind it counts.
 */
export const ARM_PANELS: LensPanelSpec[] = [
  {
    panelIndex: 'requests-per-arm',
    title: 'Requests per experiment arm',
    gridData: { x: 0, y: 24, w: 24, h: 12 },
    visualizationType: 'lnsXY',
    query: `${ACCESS} and reco.arm : *`,
    layerId: 'layer-requests-per-arm',
    columns: [
      ['time', overTime()],
      ['arm', topValues('reco.arm', 'string', 20, { type: 'column', columnId: 'requests' }, 'Arm')],
      ['requests', count('Requests')],
    ],
    visualization: xyVisualization({ layerId: 'layer-requests-per-arm', xAccessor: 'time', splitAccessor: 'arm', accessors: ['requests'] }, 'bar_stacked'),
  },
  {
    panelIndex: 'arms',
    title: 'Per arm: requests, error rate, p99 latency, CTR',
    gridData: { x: 24, y: 24, w: 24, h: 12 },
    visualizationType: 'lnsDatatable',
    query: 'reco.arm : *',
    layerId: 'layer-arms',
    columns: [
      ['arm', topValues('reco.arm', 'string', 20, { type: 'alphabetical', fallback: false }, 'Arm')],
      ['requests', filtered(count('Requests'), ACCESS)],
      ...ratioFormula(
        'error-rate',
        'Error rate (5xx)',
        ['error-rateX0', filtered(count('5xx'), `${ACCESS} and http.response.status_code >= 500`)],
        ['error-rateX1', filtered(count('Requests'), ACCESS)],
        { id: 'percent', params: { decimals: 2 } },
      ),
      ['p99', filtered(percentile('event.duration', 99), ACCESS)],
      ...ratioFormula(
        'ctr',
        'CTR',
        ['ctrX0', filtered(uniqueCount('reco.recommendation_id', 'Clicked recommendations'), FEEDBACK_CLICK)],
        ['ctrX1', filtered(count('Recommendations'), RECOMMENDED)],
        { id: 'percent', params: { decimals: 2 } },
      ),
    ],
    visualization: {
      layerId: 'layer-arms',
      layerType: 'data',
      columns: [{ columnId: 'arm' }, { columnId: 'requests' }, { columnId: 'error-rate' }, { columnId: 'p99' }, { columnId: 'ctr' }],
    },
  },
];

export const DASHBOARD_PANELS: LensPanelSpec[] = [
  requestsOverTimeByFilters({
    panelIndex: 'requests-per-route',
    title: 'Requests per route',
    gridData: { x: 0, y: 0, w: 24, h: 12 },
    split: ['route', 'Route'],
    filters: [
      // The reco route sets reco.model on every request it sees (even rejected ones).
      { label: 'GET /reco/{model}/{user_id}', query: 'reco.model : *' },
      { label: 'GET /health', query: 'url.path : "/health"' },
      { label: 'other (404/405)', query: 'not reco.model : * and not url.path : "/health"' },
    ],
    countLabel: 'Requests',
    seriesType: 'bar_stacked',
  }),
  {
    panelIndex: 'latency-per-model',
    title: 'Latency percentiles per model',
    gridData: { x: 24, y: 0, w: 24, h: 12 },
    visualizationType: 'lnsXY',
    query: `${ACCESS} and reco.model : *`,
    layerId: 'layer-latency-per-model',
    columns: [
      ['model', topValues('reco.model', 'string', 10, { type: 'alphabetical', fallback: false }, 'Model')],
      // No explicit format: Lens uses the data view's duration format (ns → ms) of event.duration.
      ['p50', percentile('event.duration', 50)],
      ['p95', percentile('event.duration', 95)],
      ['p99', percentile('event.duration', 99)],
    ],
    visualization: xyVisualization({ layerId: 'layer-latency-per-model', xAccessor: 'model', accessors: ['p50', 'p95', 'p99'] }, 'bar'),
  },
  requestsOverTimeByFilters({
    panelIndex: 'error-rate',
    title: 'Error rate (share of requests by status class)',
    gridData: { x: 0, y: 12, w: 24, h: 12 },
    split: ['status', 'Status'],
    filters: [
      { label: '5xx', query: 'http.response.status_code >= 500' },
      { label: '4xx', query: 'http.response.status_code >= 400 and http.response.status_code < 500' },
      { label: 'ok', query: 'http.response.status_code < 400' },
    ],
    countLabel: 'Share of requests',
    seriesType: 'area_percentage_stacked',
  }),
  {
    panelIndex: 'top-error-types',
    title: 'Top error types',
    gridData: { x: 24, y: 12, w: 12, h: 12 },
    visualizationType: 'lnsDatatable',
    query: 'error.type : *',
    layerId: 'layer-top-error-types',
    columns: [
      ['error-type', topValues('error.type', 'string', 10, { type: 'column', columnId: 'errors' }, 'Error type')],
      ['errors', count('Count')],
    ],
    visualization: {
      layerId: 'layer-top-error-types',
      layerType: 'data',
      columns: [{ columnId: 'error-type' }, { columnId: 'errors' }],
    },
  },
  {
    panelIndex: 'cold-start-share',
    title: 'Cold-start share of recommendations',
    gridData: { x: 36, y: 12, w: 12, h: 12 },
    visualizationType: 'lnsPie',
    query: `${ACCESS} and reco.cold_start : *`,
    layerId: 'layer-cold-start-share',
    columns: [
      ['cold-start', topValues('reco.cold_start', 'boolean', 2, { type: 'column', columnId: 'requests' }, 'Cold start')],
      ['requests', count('Requests')],
    ],
    visualization: {
      shape: 'donut',
      layers: [
        {
          layerId: 'layer-cold-start-share',
          layerType: 'data',
          primaryGroups: ['cold-start'],
          metrics: ['requests'],
          numberDisplay: 'percent',
          categoryDisplay: 'default',
          legendDisplay: 'default',
          nestedLegend: false,
        },
      ],
    },
  },
  ...ARM_PANELS,
];

export const DASHBOARD: DashboardSpec = {
  id: DASHBOARD_ID,
  title: 'recoscope: overview',
  description: 'Requests per route, latency percentiles per model, error rate, top error types, cold-start share, and per experiment arm requests, error rate, p99 and CTR (reco-logs*).',
  dataViewId: DATA_VIEW_ID,
  lensPanels: DASHBOARD_PANELS,
  // The errors saved search at the bottom, by reference.
  searchPanels: [{ panelIndex: 'errors', searchId: 'recoscope-errors', title: 'Errors', gridData: { x: 0, y: 36, w: 48, h: 15 } }],
  options: { useMargins: true, syncColors: false, syncCursor: true, syncTooltips: false, hidePanelTitles: false },
  time: { from: 'now-1h', to: 'now', refreshMs: 30_000 },
};
