/**
 * Kibana's wire format for saved objects, as Kibana 8.x exports them (and ships sample data):
 * the builders that turn recoscope's content (kibana-content.ts) into importable objects.
 *
 * Stringified JSON in `fieldFormatMap`, `searchSourceJSON` and `panelsJSON`; references by
 * name (`kibanaSavedObjectMeta.searchSourceJSON.index`,
 * `<panelIndex>:indexpattern-datasource-layer-<layer>`); `coreMigrationVersion` /
 * `typeMigrationVersion` say which migrations the object has already had, so Kibana runs only
 * the newer ones on import. Nothing here knows which searches or panels recoscope has.
 */

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

// ---------------------------------------------------------------------------------------------
// Data view

export interface FieldFormat {
  id: string;
  params: Record<string, unknown>;
}

export interface DataViewSpec {
  id: string;
  /** Index pattern, e.g. `reco-logs*`. */
  title: string;
  name: string;
  timeFieldName: string;
  fieldFormats: Record<string, FieldFormat>;
}

export function dataViewObject(spec: DataViewSpec): SavedObject {
  return {
    type: 'index-pattern',
    id: spec.id,
    attributes: {
      title: spec.title,
      name: spec.name,
      timeFieldName: spec.timeFieldName,
      fieldFormatMap: JSON.stringify(spec.fieldFormats),
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

const INDEX_REF_NAME = 'kibanaSavedObjectMeta.searchSourceJSON.index';

export function savedSearchObject(spec: SavedSearchSpec, dataViewId: string): SavedObject {
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
    references: [{ name: INDEX_REF_NAME, type: 'index-pattern', id: dataViewId }],
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: '7.9.3',
  };
}

// ---------------------------------------------------------------------------------------------
// Lens columns (form-based datasource)

export interface LensColumn {
  label: string;
  dataType: 'number' | 'string' | 'date' | 'boolean';
  operationType: 'count' | 'unique_count' | 'average' | 'percentile' | 'terms' | 'date_histogram' | 'filters' | 'formula' | 'math';
  isBucketed: boolean;
  scale: 'ratio' | 'ordinal' | 'interval';
  sourceField?: string;
  customLabel?: boolean;
  /** A metric over only the documents matching this KQL (Lens's per-column filter). */
  filter?: { query: string; language: 'kuery' };
  params?: Record<string, unknown>;
  /** Formula and math columns: the ids of the columns they are computed from. */
  references?: string[];
}

/** The same metric over only the documents matching `kql`. */
export const filtered = (column: LensColumn, kql: string): LensColumn => ({ ...column, filter: { query: kql, language: 'kuery' } });

export const uniqueCount = (field: string, label: string): LensColumn => ({
  label,
  customLabel: true,
  dataType: 'number',
  operationType: 'unique_count',
  sourceField: field,
  isBucketed: false,
  scale: 'ratio',
  params: { emptyAsNull: true },
});

/**
 * A Lens formula `numerator / denominator` as Lens stores one: the formula column, its two
 * hidden operands and the math column dividing them (what Lens persists after parsing the
 * formula text; the operands carry the `kql=` filters of the text).
 */
export function ratioFormula(
  id: string,
  label: string,
  numerator: [string, LensColumn],
  denominator: [string, LensColumn],
  format?: Record<string, unknown>,
): [string, LensColumn][] {
  const [numId, num] = numerator;
  const [denId, den] = denominator;
  const operand = (c: LensColumn): string => {
    const args = [c.sourceField !== undefined && c.sourceField !== '___records___' ? c.sourceField : undefined, c.filter === undefined ? undefined : `kql='${c.filter.query}'`];
    return `${c.operationType}(${args.filter((a) => a !== undefined).join(', ')})`;
  };
  const formula = `${operand(num)} / ${operand(den)}`;
  const part = (c: LensColumn): LensColumn => ({ ...c, label: `Part of ${label}`, customLabel: true, params: { emptyAsNull: false } });
  const mathId = `${id}X2`;
  return [
    [
      id,
      {
        label,
        customLabel: true,
        dataType: 'number',
        operationType: 'formula',
        isBucketed: false,
        scale: 'ratio',
        params: { formula, isFormulaBroken: false, ...(format === undefined ? {} : { format }) },
        references: [mathId],
      },
    ],
    [numId, part(num)],
    [denId, part(den)],
    [
      mathId,
      {
        label: `Part of ${label}`,
        customLabel: true,
        dataType: 'number',
        operationType: 'math',
        isBucketed: false,
        scale: 'ratio',
        params: { tinymathAst: { type: 'function', name: 'divide', args: [numId, denId], location: { min: 0, max: formula.length }, text: formula } },
        references: [numId, denId],
      },
    ],
  ];
}

export const count = (label: string): LensColumn => ({
  label,
  customLabel: true,
  dataType: 'number',
  operationType: 'count',
  sourceField: '___records___',
  isBucketed: false,
  scale: 'ratio',
  params: { emptyAsNull: true },
});

export const average = (field: string, label: string): LensColumn => ({
  label,
  customLabel: true,
  dataType: 'number',
  operationType: 'average',
  sourceField: field,
  isBucketed: false,
  scale: 'ratio',
  params: { emptyAsNull: true },
});

export const percentile = (field: string, p: number): LensColumn => ({
  label: `p${p}`,
  customLabel: true,
  dataType: 'number',
  operationType: 'percentile',
  sourceField: field,
  isBucketed: false,
  scale: 'ratio',
  params: { percentile: p },
});

export const overTime = (): LensColumn => ({
  label: '@timestamp',
  dataType: 'date',
  operationType: 'date_histogram',
  sourceField: '@timestamp',
  isBucketed: true,
  scale: 'interval',
  params: { interval: 'auto', includeEmptyRows: true, dropPartials: false },
});

export const topValues = (
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

export const byFilters = (label: string, filters: { label: string; query: string }[]): LensColumn => ({
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

/** An XY chart's visualization state with the given (complete) layers. */
export const xyVisualizationOf = (layers: Record<string, unknown>[], seriesType: string, options: { xAxisTitle: boolean }): Record<string, unknown> => ({
  legend: { isVisible: true, position: 'right' },
  valueLabels: 'hide',
  fittingFunction: 'None',
  preferredSeriesType: seriesType,
  axisTitlesVisibilitySettings: { x: options.xAxisTitle, yLeft: true, yRight: true },
  tickLabelsVisibilitySettings: { x: true, yLeft: true, yRight: true },
  gridlinesVisibilitySettings: { x: true, yLeft: true, yRight: true },
  layers,
});

/** An XY chart with one data layer of `seriesType` and no x axis title. */
export const xyVisualization = (layer: Record<string, unknown>, seriesType: string): Record<string, unknown> =>
  xyVisualizationOf([{ layerType: 'data', seriesType, ...layer }], seriesType, { xAxisTitle: false });

/** A saved search shown on a dashboard, by reference. */
export interface SearchPanelSpec {
  panelIndex: string;
  searchId: string;
  title: string;
  gridData: { x: number; y: number; w: number; h: number };
}

export interface DashboardSpec {
  id: string;
  title: string;
  description: string;
  dataViewId: string;
  /** Lens by-value panels, then saved searches by reference, in this order. */
  lensPanels: LensPanelSpec[];
  searchPanels: SearchPanelSpec[];
  options: Record<string, unknown>;
  /** Auto-refresh every refreshMs; `paused` (default false) stores it switched off. */
  time: { from: string; to: string; refreshMs: number; paused?: boolean };
}

const layerRefName = (layerId: string): string => `indexpattern-datasource-layer-${layerId}`;

/** What every dashboard panel starts with (in Kibana's key order). */
function panelHead(type: 'lens' | 'search', spec: { panelIndex: string; title: string; gridData: LensPanelSpec['gridData'] }): Record<string, unknown> {
  return { version: PANEL_VERSION, type, panelIndex: spec.panelIndex, gridData: { ...spec.gridData, i: spec.panelIndex }, title: spec.title };
}

function lensPanel(spec: LensPanelSpec, dataViewId: string): Record<string, unknown> {
  return {
    ...panelHead('lens', spec),
    embeddableConfig: {
      enhancements: {},
      attributes: {
        title: spec.title,
        description: '',
        visualizationType: spec.visualizationType,
        type: 'lens',
        references: [{ type: 'index-pattern', id: dataViewId, name: layerRefName(spec.layerId) }],
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

function searchPanel(spec: SearchPanelSpec): Record<string, unknown> {
  return {
    ...panelHead('search', spec),
    panelRefName: `panel_${spec.panelIndex}`,
    embeddableConfig: { enhancements: {} },
  };
}

export function dashboardObject(spec: DashboardSpec): SavedObject {
  const panels = [...spec.lensPanels.map((p) => lensPanel(p, spec.dataViewId)), ...spec.searchPanels.map(searchPanel)];
  return {
    type: 'dashboard',
    id: spec.id,
    attributes: {
      title: spec.title,
      description: spec.description,
      panelsJSON: JSON.stringify(panels),
      optionsJSON: JSON.stringify(spec.options),
      timeRestore: true,
      timeFrom: spec.time.from,
      timeTo: spec.time.to,
      refreshInterval: { pause: spec.time.paused ?? false, value: spec.time.refreshMs },
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }) },
    },
    references: [
      ...spec.lensPanels.map((p) => ({ type: 'index-pattern', id: spec.dataViewId, name: `${p.panelIndex}:${layerRefName(p.layerId)}` })),
      ...spec.searchPanels.map((p) => ({ type: 'search', id: p.searchId, name: `${p.panelIndex}:panel_${p.panelIndex}` })),
    ],
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: '8.7.0',
  };
}
