/**
 * Kibana saved objects over the `reco-experiments` index (`npm run evaluate` with
 * ELASTICSEARCH_URL set; mapping in elk/index-templates/reco-experiments.json): a data view,
 * a saved search listing the runs (one row per model run) and a dashboard "recoscope: model
 * quality" with MAP / NDCG per model and code version and the runs table.
 *
 * Kept apart from the log objects (kibana-objects.ts), which only appends these to its list;
 * kibana-wire.ts builds the Kibana 8.x export shapes from the content below.
 */
import { EXPERIMENTS_INDEX } from '../../src/contracts';
import {
  average,
  dashboardObject,
  dataViewObject,
  savedSearchObject,
  topValues,
  xyVisualizationOf,
  type LensColumn,
  type LensPanelSpec,
  type SavedObject,
  type SearchPanelSpec,
} from './wire';

export const EXPERIMENTS_DATA_VIEW_ID = 'recoscope-reco-experiments';
export const EXPERIMENTS_SEARCH_ID = 'recoscope-experiment-runs';
export const EXPERIMENTS_DASHBOARD_ID = 'recoscope-model-quality';

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

const SEARCH_PANEL: SearchPanelSpec = { panelIndex: 'runs', searchId: EXPERIMENTS_SEARCH_ID, title: 'Evaluation runs', gridData: { x: 0, y: 24, w: 48, h: 15 } };

const terms = (field: string, label: string, size: number): LensColumn => topValues(field, 'string', size, { type: 'alphabetical', fallback: false }, label);

function lensPanel(p: MetricPanel): LensPanelSpec {
  const layerId = `layer-${p.panelIndex}`;
  const split: [string, LensColumn][] = p.x === 'model.name' ? [] : [['model', terms('model.name', 'Model', 10)]];
  const layer = {
    layerId,
    layerType: 'data',
    seriesType: 'bar',
    xAccessor: 'x',
    accessors: p.metrics.map((_, i) => `m${i}`),
    ...(split.length > 0 ? { splitAccessor: 'model' } : {}),
  };
  return {
    panelIndex: p.panelIndex,
    title: p.title,
    gridData: p.gridData,
    visualizationType: 'lnsXY',
    query: '',
    layerId,
    columns: [
      ['x', terms(p.x, p.x === 'model.name' ? 'Model' : 'Version', 20)],
      ...split,
      ...p.metrics.map(([field, label], i): [string, LensColumn] => [`m${i}`, average(field, label)]),
    ],
    visualization: xyVisualizationOf([layer], 'bar', { xAxisTitle: true }),
  };
}

/** The experiment objects, referenced ones first. */
export function experimentsSavedObjects(): SavedObject[] {
  return [
    dataViewObject({
      id: EXPERIMENTS_DATA_VIEW_ID,
      title: `${EXPERIMENTS_INDEX}*`,
      name: 'recoscope model evaluations',
      timeFieldName: '@timestamp',
      fieldFormats: { 'artifact.bytes': { id: 'bytes', params: {} } },
    }),
    savedSearchObject(
      {
        id: EXPERIMENTS_SEARCH_ID,
        title: 'recoscope: evaluation runs',
        description: 'One row per model run of npm run evaluate: metrics at k, training time, artifact size, dataset, code version.',
        query: '',
        columns: EXPERIMENT_RUN_COLUMNS,
        sort: [['@timestamp', 'desc']],
      },
      EXPERIMENTS_DATA_VIEW_ID,
    ),
    dashboardObject({
      id: EXPERIMENTS_DASHBOARD_ID,
      title: 'recoscope: model quality',
      description: 'Offline evaluations (npm run evaluate, reco-experiments*): metrics at k per model and code version, and every run.',
      dataViewId: EXPERIMENTS_DATA_VIEW_ID,
      lensPanels: EXPERIMENT_PANELS.map(lensPanel),
      searchPanels: [SEARCH_PANEL],
      options: { useMargins: true, syncColors: false, syncCursor: true, syncTooltips: false, hidePanelTitles: false },
      time: { from: 'now-30d', to: 'now', refreshMs: 0, paused: true },
    }),
  ];
}
