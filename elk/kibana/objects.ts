/**
 * recoscope's Kibana saved objects, as code: the `reco-logs*` data view with its field formats,
 * six saved searches and one dashboard of Lens by-value panels, in three modules by kind:
 *   kibana-content.ts     what is shown (searches, panels, field formats, ids)
 *   kibana-wire.ts        Kibana's saved object wire format (the builders)
 *   kibana-references.ts  the reference checker (every field the objects use)
 *
 * `npm run kibana:objects` renders them to elk/kibana/saved-objects.ndjson (committed; a static
 * test checks the file is in sync and that every field referenced exists in the reco-logs
 * index template). The setup job imports that file through Kibana's saved objects `_import`
 * API (see kibana.ts).
 */

import { DASHBOARD, DEFAULT_JAEGER_UI_URL, SAVED_SEARCHES, DATA_VIEW_ID, dataViewSpec } from './content';
import { experimentsSavedObjects } from './experiments';
import { dashboardObject, dataViewObject, savedSearchObject, type SavedObject } from './wire';

export interface KibanaObjectsOptions {
  /** Base URL of Jaeger's UI for the trace.id link (no trailing slash). */
  jaegerUiUrl?: string;
}

/** Every object, referenced ones before those that reference them. */
export function kibanaSavedObjects(options: KibanaObjectsOptions = {}): SavedObject[] {
  const jaegerUiUrl = options.jaegerUiUrl ?? DEFAULT_JAEGER_UI_URL;
  return [
    dataViewObject(dataViewSpec(jaegerUiUrl)), 
    ...SAVED_SEARCHES.map((s) => savedSearchObject(s, DATA_VIEW_ID)),
    dashboardObject(DASHBOARD),
    ...experimentsSavedObjects(),
  ];
}

/** NDJSON as the saved objects `_export` API writes it: one object per line. */
export function renderSavedObjectsNdjson(options: KibanaObjectsOptions = {}): string {
  return kibanaSavedObjects(options)
    .map((o) => JSON.stringify(o))
    .join('\n')
    .concat('\n');
}
