/**
 * Kibana saved objects over the `reco-experiments` index (`npm run evaluate` with
 * ELASTICSEARCH_URL set; mapping in elk/index-templates/reco-experiments.json): a data view,
 * a saved search listing the runs (one row per model run) and a dashboard "recoscope: model
 * quality" with MAP / NDCG per model and code version and the runs table.
 *
 * Kept apart from the log objects (kibana-objects.ts), which only appends these to its list;
 * the shapes are the same Kibana 8.x export shapes (see that file's header).
 */
import { EXPERIMENTS_INDEX } from '../src/contracts';
import type { SavedObject } from './kibana-wire';

export const EXPERIMENTS_DATA_VIEW_ID = 'recoscope-reco-experiments';
export const EXPERIMENTS_SEARCH_ID = 'recoscope-experiment-runs';
export const EXPERIMENTS_DASHBOARD_ID = 'recoscope-model-quality';

const CORE_MIGRATION_VERSION = '8.8.0';
const PANEL_VERSION = '8.11.0';
const INDEX_REF_NAME = 'kibanaSavedObjectMeta.searchSourceJSON.index';

/** The runs table: one row per model run, newest first. */
export const EXPERIMENT_RUN_COLUMNS = [
  'evaluation.id',
  'model.name',
  'model.version',
  'evaluation.k',
  'metrics.map',
  'metrics.ndcg',
  'metrics.precision',
  'metrics.recall',
  'metrics.hit_rate',
  'metrics.mrr',
  'metrics.coverage',
  'metrics.novelty',
  'metrics.popular_fill',
  'timings.train_ms',
  'artifact.bytes',
  'timings.recommend_p99_us',
  'dataset.description',
  'evaluation.split',
  'git.dirty',
];

function dataView(): SavedObject {
  return {
    type: 'index-pattern',
    id: EXPERIMENTS_DATA_VIEW_ID,
    attributes: {
      title: `${EXPERIMENTS_INDEX}*`,
      name: 'recoscope model evaluations',
      timeFieldName: '@timestamp',
      fieldFormatMap: JSON.stringify({ 'artifact.bytes': { id: 'bytes', params: {} } }),
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

function runsSearch(): SavedObject {
  return {
    type: 'search',
    id: EXPERIMENTS_SEARCH_ID,
    attributes: {
      title: 'recoscope: evaluation runs',
      description: 'One row per model run of npm run evaluate: metrics at k, training time, artifact size, dataset, code version.',
      columns: EXPERIMENT_RUN_COLUMNS,
      sort: [['@timestamp', 'desc']],
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [], indexRefName: INDEX_REF_NAME }),
      },
    },
    references: [{ name: INDEX_REF_NAME, type: 'index-pattern', id: EXPERIMENTS_DATA_VIEW_ID }],
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: '7.9.3',
  };
}

interface MetricPanel {
  panelIndex: string;
  title: string;
  /** Fields averaged per bar, with their labels. */
  metrics: [string, string][];
  /** x axis; bars split by model unless the x axis is the model. */
  x: 'model.version' | 'model.name';
  gridData: { x: number; y: number; w: number; h: number };
}

export const EXPERIMENT_PANELS: MetricPanel[] = [
  { panelIndex: 'map-per-version', title: 'MAP@k per model and version', metrics: [['metrics.map', 'MAP@k']], x: 'model.version', gridData: { x: 0, y: 0, w: 24, h: 12 } },
  { panelIndex: 'ndcg-per-version', title: 'NDCG@k per model and version', metrics: [['metrics.ndcg', 'NDCG@k']], x: 'model.version', gridData: { x: 24, y: 0, w: 24, h: 12 } },
  {
    panelIndex: 'recall-hitrate-per-model',
    title: 'Recall@k and HitRate@k per model',
    metrics: [
      ['metrics.recall', 'Recall@k'],
      ['metrics.hit_rate', 'HitRate@k'],
    ],
    x: 'model.name',
    gridData: { x: 0, y: 12, w: 24, h: 12 },
  },
  { panelIndex: 'train-ms-per-version', title: 'Training time (ms) per model and version', metrics: [['timings.train_ms', 'train ms']], x: 'model.version', gridData: { x: 24, y: 12, w: 24, h: 12 } },
];

const SEARCH_PANEL = { panelIndex: 'runs', title: 'Evaluation runs', gridData: { x: 0, y: 24, w: 48, h: 15 } };

const terms = (field: string, label: string, size: number): Record<string, unknown> => ({
  label,
  customLabel: true,
  dataType: 'string',
  operationType: 'terms',
  sourceField: field,
  isBucketed: true,
  scale: 'ordinal',
  params: { size, orderBy: { type: 'alphabetical', fallback: false }, orderDirection: 'asc', otherBucket: true, missingBucket: false, parentFormat: { id: 'terms' } },
});

const average = (field: string, label: string): Record<string, unknown> => ({
  label,
  customLabel: true,
  dataType: 'number',
  operationType: 'average',
  sourceField: field,
  isBucketed: false,
  scale: 'ratio',
  params: { emptyAsNull: true },
});

function lensPanel(p: MetricPanel): Record<string, unknown> {
  const layerId = `layer-${p.panelIndex}`;
  const split = p.x === 'model.name' ? [] : ([['model', terms('model.name', 'Model', 10)]] as [string, Record<string, unknown>][]);
  const columns: [string, Record<string, unknown>][] = [
    ['x', terms(p.x, p.x === 'model.name' ? 'Model' : 'Version', 20)],
    ...split,
    ...p.metrics.map(([field, label], i): [string, Record<string, unknown>] => [`m${i}`, average(field, label)]),
  ];
  const layer = {
    layerId,
    layerType: 'data',
    seriesType: 'bar',
    xAccessor: 'x',
    accessors: p.metrics.map((_, i) => `m${i}`),
    ...(split.length > 0 ? { splitAccessor: 'model' } : {}),
  };
  return {
    version: PANEL_VERSION,
    type: 'lens',
    panelIndex: p.panelIndex,
    gridData: { ...p.gridData, i: p.panelIndex },
    title: p.title,
    embeddableConfig: {
      enhancements: {},
      attributes: {
        title: p.title,
        description: '',
        visualizationType: 'lnsXY',
        type: 'lens',
        references: [{ type: 'index-pattern', id: EXPERIMENTS_DATA_VIEW_ID, name: `indexpattern-datasource-layer-${layerId}` }],
        state: {
          visualization: {
            legend: { isVisible: true, position: 'right' },
            valueLabels: 'hide',
            fittingFunction: 'None',
            preferredSeriesType: 'bar',
            axisTitlesVisibilitySettings: { x: true, yLeft: true, yRight: true },
            tickLabelsVisibilitySettings: { x: true, yLeft: true, yRight: true },
            gridlinesVisibilitySettings: { x: true, yLeft: true, yRight: true },
            layers: [layer],
          },
          query: { query: '', language: 'kuery' },
          filters: [],
          datasourceStates: {
            formBased: { layers: { [layerId]: { columnOrder: columns.map(([id]) => id), columns: Object.fromEntries(columns), incompleteColumns: {} } } },
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
    ...EXPERIMENT_PANELS.map(lensPanel),
    {
      version: PANEL_VERSION,
      type: 'search',
      panelIndex: SEARCH_PANEL.panelIndex,
      gridData: { ...SEARCH_PANEL.gridData, i: SEARCH_PANEL.panelIndex },
      title: SEARCH_PANEL.title,
      panelRefName: `panel_${SEARCH_PANEL.panelIndex}`,
      embeddableConfig: { enhancements: {} },
    },
  ];
  return {
    type: 'dashboard',
    id: EXPERIMENTS_DASHBOARD_ID,
    attributes: {
      title: 'recoscope: model quality',
      description: 'Offline evaluations (npm run evaluate, reco-experiments*): metrics at k per model and code version, and every run.',
      panelsJSON: JSON.stringify(panels),
      optionsJSON: JSON.stringify({ useMargins: true, syncColors: false, syncCursor: true, syncTooltips: false, hidePanelTitles: false }),
      timeRestore: true,
      timeFrom: 'now-30d',
      timeTo: 'now',
      refreshInterval: { pause: true, value: 0 },
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }) },
    },
    references: [
      ...EXPERIMENT_PANELS.map((p) => ({ type: 'index-pattern', id: EXPERIMENTS_DATA_VIEW_ID, name: `${p.panelIndex}:indexpattern-datasource-layer-layer-${p.panelIndex}` })),
      { type: 'search', id: EXPERIMENTS_SEARCH_ID, name: `${SEARCH_PANEL.panelIndex}:panel_${SEARCH_PANEL.panelIndex}` },
    ],
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: '8.7.0',
  };
}

/** The experiment objects, referenced ones first. */
export function experimentsSavedObjects(): SavedObject[] {
  return [dataView(), runsSearch(), dashboard()];
}
