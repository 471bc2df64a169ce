/** The type Elasticsearch's reco-logs mapping gives a dotted field path, for the e2e tests. */
import type { Client } from '@elastic/elasticsearch';
import type { MappingProperty } from '@elastic/elasticsearch/lib/api/types';
import { LOGS_INDEX } from '../../elk/client';

export async function mappedTypes(es: Client): Promise<(path: string) => string | undefined> {
  const mapping = await es.indices.getMapping({ index: LOGS_INDEX });
  const props = mapping[LOGS_INDEX]?.mappings.properties ?? {};
  return (path) => {
    let node: Record<string, MappingProperty> | undefined = props;
    let prop: MappingProperty | undefined;
    for (const part of path.split('.')) {
      prop = node?.[part];
      node = prop !== undefined && 'properties' in prop ? prop.properties : undefined;
    }
    return prop?.type;
  };
}
