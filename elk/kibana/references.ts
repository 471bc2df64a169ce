/**
 * The reference checker: every field name the Kibana saved objects use, read back out of the
 * rendered objects (KQL queries, columns, sorts, Lens columns and filter buckets, field
 * formats), so the static and e2e tests can check each one against the reco-logs index
 * template and Elasticsearch's mapping. Works on parsed NDJSON: it checks what is imported.
 */

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
  filter?: { query?: string };
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
            if (column.filter?.query !== undefined) add(`${where}: column ${columnId} filter`, kqlFields(column.filter.query));
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
