/**
 * recoscope's Kibana saved objects, as code: the `reco-logs*` data view with its field formats,
 * four saved searches and one dashboard of Lens by-value panels.
 *
 * `npm run kibana:objects` renders them to elk/kibana/saved-objects.ndjson (committed; a unit
 * test checks the file is in sync and that every field referenced exists in the reco-logs
 * index template). The setup job imports that file through Kibana's saved objects `_import`
 * API (see kibana.ts).
 *
 * Shapes follow what Kibana 8.x exports (and ships as sample data): stringified JSON in
 * `fieldFormatMap`, `searchSourceJSON` and `panelsJSON`; references by name
 * (`kibanaSavedObjectMeta.searchSourceJSON.index`, `<panelIndex>:indexpattern-datasource-layer-<layer>`);
 * `coreMigrationVersion` / `typeMigrationVersion` say which migrations the object has already
 * had, so Kibana runs only the newer ones on import.
 */

import { ACCESS_DATASET, LOGS_DATA_VIEW_PATTERN } from '../src/contracts';
import { experimentsSavedObjects } from './kibana-experiments';

export const DATA_VIEW_ID = 'recoscope-reco-logs';
export const DATA_VIEW_PATTERN = LOGS_DATA_VIEW_PATTERN;
export const DASHBOARD_ID = 'recoscope-overview';
/** Where the browser reaches Jaeger's UI (docker-compose publishes it on localhost). */
export const DEFAULT_JAEGER_UI_URL = 'http://localhost:16686';

const CORE_MIGRATION_VERSION = '8.8.0';
/** The embeddable version of the Lens by-value panels (Kibana migrates newer ones forward). */
const PANEL_VERSION = '8.11.0';

export interface SavedObjectReference {
  name: string;
  type: string;
  id: string;
}

export interface SavedObject {
  type: 'index-pattern' | 'search' | 'dashboard';
  id: string;
  attributes: Record<string, unknown>;
  references: SavedObjectReference[];
  coreMigrationVersion: string;
  typeMigrationVersion: string;
}

export interface KibanaObjectsOptions {
  /** Base URL of Jaeger's UI for the trace.id link (no trailing slash). */
  jaegerUiUrl?: string;
}

// ---------------------------------------------------------------------------------------------
// Data view

export interface FieldFormat {
  id: string;
  params: Record<string, unknown>;
}

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

function dataView(jaegerUiUrl: string): SavedObject {
  return {
    type: 'index-pattern',
    id: DATA_VIEW_ID,
    attributes: {
      title: DATA_VIEW_PATTERN,
      name: 'recoscope logs',
      timeFieldName: '@timestamp',
      fieldFormatMap: JSON.stringify(fieldFormats(jaegerUiUrl)),
      fields: '[]',
      fieldAttrs: '{}',
      runtimeFieldMap: '{}',
      sourceFilters: '[]',
      typeMeta: '{}',
    },
    references: [],
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: '7.11.0',
  };
}

// ---------------------------------------------------------------------------------------------
// Saved searches (Discover sessions)

export interface SavedSearchSpec {
  id: string;
  title: string;
  description: string;
  /** KQL. */
  query: string;
  columns: string[];
  sort: [string, 'asc' | 'desc'][];
}

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
];

const INDEX_REF_NAME = 'kibanaSavedObjectMeta.searchSourceJSON.index';

function savedSearch(spec: SavedSearchSpec): SavedObject {
  return {
    type: 'search',
    id: spec.id,
    attributes: {
      title: spec.title,
      description: spec.description,
      columns: spec.columns,
      sort: spec.sort,
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({
          query: { query: spec.query, language: 'kuery' },
          filter: [],
          indexRefName: INDEX_REF_NAME,
        }),
      },
    },
    references: [{ name: INDEX_REF_NAME, type: 'index-pattern', id: DATA_VIEW_ID }],
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: '7.9.3',
  };
}

// ---------------------------------------------------------------------------------------------
// Lens columns (form-based datasource)

export interface LensColumn {
  label: string;
  dataType: 'number' | 'string' | 'date' | 'boolean';
  operationType: 'count' | 'percentile' | 'terms' | 'date_histogram' | 'filters';
  isBucketed: boolean;
  scale: 'ratio' | 'ordinal' | 'interval';
  sourceField?: string;
  customLabel?: boolean;
  params?: Record<string, unknown>;
}

const count = (label: string): LensColumn => ({
  label,
  customLabel: true,
  dataType: 'number',
  operationType: 'count',
  sourceField: '___records___',
  isBucketed: false,
  scale: 'ratio',
  params: { emptyAsNull: true },
});

const percentile = (field: string, p: number): LensColumn => ({
  label: `p${p}`,
  customLabel: true,
  dataType: 'number',
  operationType: 'percentile',
  sourceField: field,
  isBucketed: false,
  scale: 'ratio',
  params: { percentile: p },
});

const overTime = (): LensColumn => ({
  label: '@timestamp',
  dataType: 'date',
  operationType: 'date_histogram',
  sourceField: '@timestamp',
  isBucketed: true,
  scale: 'interval',
  params: { interval: 'auto', includeEmptyRows: true, dropPartials: false },
});

const topValues = (
  field: string,
  dataType: LensColumn['dataType'],
  size: number,
  orderBy: { type: 'column'; columnId: string } | { type: 'alphabetical'; fallback: boolean },
  label = `Top values of ${field}`,
): LensColumn => ({
  label,
  customLabel: true,
  dataType,
  operationType: 'terms',
  sourceField: field,
  isBucketed: true,
  scale: 'ordinal',
  params: {
    size,
    orderBy,
    orderDirection: orderBy.type === 'alphabetical' ? 'asc' : 'desc',
    otherBucket: true,
    missingBucket: false,
    parentFormat: { id: 'terms' },
  },
});

const byFilters = (label: string, filters: { label: string; query: string }[]): LensColumn => ({
  label,
  customLabel: true,
  dataType: 'string',
  operationType: 'filters',
  isBucketed: true,
  scale: 'ordinal',
  params: { filters: filters.map((f) => ({ label: f.label, input: { query: f.query, language: 'kuery' } })) },
});

// ---------------------------------------------------------------------------------------------
// Lens by-value panels

export interface LensPanelSpec {
  panelIndex: string;
  title: string;
  gridData: { x: number; y: number; w: number; h: number };
  visualizationType: 'lnsXY' | 'lnsPie' | 'lnsDatatable';
  /** KQL applied to the whole chart. */
  query: string;
  layerId: string;
  /** Column id → column, in column order. */
  columns: [string, LensColumn][];
  visualization: Record<string, unknown>;
}

const xyVisualization = (layer: Record<string, unknown>, seriesType: string): Record<string, unknown> => ({
  legend: { isVisible: true, position: 'right' },
  valueLabels: 'hide',
  fittingFunction: 'None',
  preferredSeriesType: seriesType,
  axisTitlesVisibilitySettings: { x: false, yLeft: true, yRight: true },
  tickLabelsVisibilitySettings: { x: true, yLeft: true, yRight: true },
  gridlinesVisibilitySettings: { x: true, yLeft: true, yRight: true },
  layers: [{ layerType: 'data', seriesType, ...layer }],
});

export const DASHBOARD_PANELS: LensPanelSpec[] = [
  {
    panelIndex: 'requests-per-route',
    title: 'Requests per route',
    gridData: { x: 0, y: 0, w: 24, h: 12 },
    visualizationType: 'lnsXY',
    query: ACCESS,
    layerId: 'layer-requests-per-route',
    columns: [
      ['time', overTime()],
      [
        'route',
        byFilters('Route', [
          // The reco route sets reco.model on every request it sees (even rejected ones).
          { label: 'GET /reco/{model}/{user_id}', query: 'reco.model : *' },
          { label: 'GET /health', query: 'url.path : "/health"' },
          { label: 'other (404/405)', query: 'not reco.model : * and not url.path : "/health"' },
        ]),
      ],
      ['requests', count('Requests')],
    ],
    visualization: xyVisualization(
      { layerId: 'layer-requests-per-route', xAccessor: 'time', splitAccessor: 'route', accessors: ['requests'] },
      'bar_stacked',
    ),
  },
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
  {
    panelIndex: 'error-rate',
    title: 'Error rate (share of requests by status class)',
    gridData: { x: 0, y: 12, w: 24, h: 12 },
    visualizationType: 'lnsXY',
    query: ACCESS,
    layerId: 'layer-error-rate',
    columns: [
      ['time', overTime()],
      [
        'status',
        byFilters('Status', [
          { label: '5xx', query: 'http.response.status_code >= 500' },
          { label: '4xx', query: 'http.response.status_code >= 400 and http.response.status_code < 500' },
          { label: 'ok', query: 'http.response.status_code < 400' },
        ]),
      ],
      ['requests', count('Share of requests')],
    ],
    visualization: xyVisualization(
      { layerId: 'layer-error-rate', xAccessor: 'time', splitAccessor: 'status', accessors: ['requests'] },
      'area_percentage_stacked',
    ),
  },
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
];

/** The saved search embedded at the bottom of the dashboard (by reference). */
const DASHBOARD_SEARCH_PANEL = { panelIndex: 'errors', searchId: 'recoscope-errors', title: 'Errors', gridData: { x: 0, y: 24, w: 48, h: 15 } };

const layerRefName = (layerId: string): string => `indexpattern-datasource-layer-${layerId}`;

function lensPanel(spec: LensPanelSpec): Record<string, unknown> {
  return {
    version: PANEL_VERSION,
    type: 'lens',
    panelIndex: spec.panelIndex,
    gridData: { ...spec.gridData, i: spec.panelIndex },
    title: spec.title,
    embeddableConfig: {
      enhancements: {},
      attributes: {
        title: spec.title,
        description: '',
        visualizationType: spec.visualizationType,
        type: 'lens',
        references: [{ type: 'index-pattern', id: DATA_VIEW_ID, name: layerRefName(spec.layerId) }],
        state: {
          visualization: spec.visualization,
          query: { query: spec.query, language: 'kuery' },
          filters: [],
          datasourceStates: {
            formBased: {
              layers: {
                [spec.layerId]: {
                  columnOrder: spec.columns.map(([id]) => id),
                  columns: Object.fromEntries(spec.columns),
                  incompleteColumns: {},
                },
              },
            },
          },
          internalReferences: [],
          adHocDataViews: {},
        },
      },
    },
  };
}

function dashboard(): SavedObject {
  const panels = [
    ...DASHBOARD_PANELS.map(lensPanel),
    {
      version: PANEL_VERSION,
      type: 'search',
      panelIndex: DASHBOARD_SEARCH_PANEL.panelIndex,
      gridData: { ...DASHBOARD_SEARCH_PANEL.gridData, i: DASHBOARD_SEARCH_PANEL.panelIndex },
      title: DASHBOARD_SEARCH_PANEL.title,
      panelRefName: `panel_${DASHBOARD_SEARCH_PANEL.panelIndex}`,
      embeddableConfig: { enhancements: {} },
    },
  ];
  return {
    type: 'dashboard',
    id: DASHBOARD_ID,
    attributes: {
      title: 'recoscope: overview',
      description: 'Requests per route, latency percentiles per model, error rate, top error types, cold-start share (reco-logs*).',
      panelsJSON: JSON.stringify(panels),
      optionsJSON: JSON.stringify({ useMargins: true, syncColors: false, syncCursor: true, syncTooltips: false, hidePanelTitles: false }),
      timeRestore: true,
      timeFrom: 'now-1h',
      timeTo: 'now',
      refreshInterval: { pause: false, value: 30_000 },
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }) },
    },
    references: [
      ...DASHBOARD_PANELS.map((p) => ({ type: 'index-pattern', id: DATA_VIEW_ID, name: `${p.panelIndex}:${layerRefName(p.layerId)}` })),
      {
        type: 'search',
        id: DASHBOARD_SEARCH_PANEL.searchId,
        name: `${DASHBOARD_SEARCH_PANEL.panelIndex}:panel_${DASHBOARD_SEARCH_PANEL.panelIndex}`,
      },
    ],
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: '8.7.0',
  };
}

// ---------------------------------------------------------------------------------------------

/** Every object, referenced ones before those that reference them. */
export function kibanaSavedObjects(options: KibanaObjectsOptions = {}): SavedObject[] {
  const jaegerUiUrl = options.jaegerUiUrl ?? DEFAULT_JAEGER_UI_URL;
  return [dataView(jaegerUiUrl), ...SAVED_SEARCHES.map(savedSearch), dashboard(), ...experimentsSavedObjects()];
}

/** NDJSON as the saved objects `_export` API writes it: one object per line. */
export function renderSavedObjectsNdjson(options: KibanaObjectsOptions = {}): string {
  return kibanaSavedObjects(options)
    .map((o) => JSON.stringify(o))
    .join('\n')
    .concat('\n');
}

// ---------------------------------------------------------------------------------------------
// Field references (for the check against the index template)

/**
 * Field names in a KQL query: every `name :`, `name <`, `name >=` ... outside quoted strings.
 * Enough for the queries written here (no nested-field `{ }` syntax).
 */
export function kqlFields(query: string): string[] {
  const unquoted = query.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const fields = new Set<string>();
  for (const match of unquoted.matchAll(/(?:^|[\s(])([@A-Za-z_][\w.@]*)\s*(?::|<=|>=|<|>)/g)) {
    fields.add(match[1] as string);
  }
  return [...fields];
}

export interface FieldUse {
  field: string;
  /** e.g. `search recoscope-slow-knn: query`. */
  where: string;
}

interface ParsedLensColumn {
  sourceField?: string;
  params?: { filters?: { input?: { query?: string } }[] };
}
interface ParsedLensAttributes {
  state?: {
    query?: { query?: string };
    datasourceStates?: { formBased?: { layers?: Record<string, { columns?: Record<string, ParsedLensColumn> }> } };
  };
}

/**
 * Every field the objects refer to: data view field formats and time field, saved searches'
 * query/columns/sort, Lens panels' query, columns' source fields and filter-bucket queries,
 * the dashboard's query. Works on parsed NDJSON, so it checks what is actually imported.
 */
export function referencedFields(objects: unknown[]): FieldUse[] {
  const uses: FieldUse[] = [];
  const add = (where: string, fields: Iterable<string>) => {
    for (const field of fields) uses.push({ field, where });
  };
  const searchSource = (attributes: Record<string, unknown>): { query?: { query?: string } } => {
    const meta = attributes.kibanaSavedObjectMeta as { searchSourceJSON?: string } | undefined;
    return JSON.parse(meta?.searchSourceJSON ?? '{}') as { query?: { query?: string } };
  };
  for (const raw of objects) {
    const o = raw as { type: string; id: string; attributes: Record<string, unknown> };
    const at = `${o.type} ${o.id}`;
    const a = o.attributes;
    if (o.type === 'index-pattern') {
      if (typeof a.timeFieldName === 'string') add(`${at}: timeFieldName`, [a.timeFieldName]);
      add(`${at}: fieldFormatMap`, Object.keys(JSON.parse((a.fieldFormatMap as string | undefined) ?? '{}') as object));
    } else if (o.type === 'search') {
      add(`${at}: query`, kqlFields(searchSource(a).query?.query ?? ''));
      add(`${at}: columns`, (a.columns as string[] | undefined) ?? []);
      add(`${at}: sort`, ((a.sort as [string, string][] | undefined) ?? []).map(([field]) => field));
    } else if (o.type === 'dashboard') {
      add(`${at}: query`, kqlFields(searchSource(a).query?.query ?? ''));
      const panels = JSON.parse((a.panelsJSON as string | undefined) ?? '[]') as {
        panelIndex: string;
        embeddableConfig?: { attributes?: ParsedLensAttributes };
      }[];
      for (const panel of panels) {
        const lens = panel.embeddableConfig?.attributes;
        if (lens === undefined) continue;
        const where = `${at} panel ${panel.panelIndex}`;
        add(`${where}: query`, kqlFields(lens.state?.query?.query ?? ''));
        for (const layer of Object.values(lens.state?.datasourceStates?.formBased?.layers ?? {})) {
          for (const [columnId, column] of Object.entries(layer.columns ?? {})) {
            if (column.sourceField !== undefined && column.sourceField !== '___records___') {
              add(`${where}: column ${columnId}`, [column.sourceField]);
            }
            for (const filter of column.params?.filters ?? []) {
              add(`${where}: column ${columnId} filter`, kqlFields(filter.input?.query ?? ''));
            }
          }
        }
      }
    }
  }
  return uses;
}
