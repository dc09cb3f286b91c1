import { readFileSync } from 'node:fs';
import { Aws, aws_athena as athena, aws_glue as glue, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TrackingPlan, typedViews } from '../../src/plan/index.js';
import { type ActivityStackConfig, QUERY_RESULTS_PREFIX, snakeCase } from '../config.js';
import { ERROR_COLUMNS, eventColumns, landedTableInput, typedTableInput } from '../query-tables.js';
import type { LandingBucket } from './landing-bucket.js';
import { StackPart } from './stack-part.js';

export interface QueryCatalogProps {
  config: ActivityStackConfig;
  landing: LandingBucket;
}

/**
 * What makes the landed data queryable in Athena: a Glue database with an `events` and an `errors`
 * table over the landed layout (partition projection, so no crawler), a workgroup that keeps its results
 * encrypted in the bucket, and a saved query to start from.
 */
export class QueryCatalog extends StackPart {
  readonly databaseName: string;
  readonly workGroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, { config, landing }: QueryCatalogProps) {
    super(scope, id);
    const { stackName } = Stack.of(this);
    const databaseName = config.databaseName ?? snakeCase(stackName);
    this.databaseName = databaseName;
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: databaseName, description: `Activity events landed in ${landing.sinkUrl}` },
    });
    const eventsTable = new glue.CfnTable(this, 'EventsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName,
      tableInput: landedTableInput({
        name: 'events',
        description: 'Activity events by event time (UTC); may hold duplicates: deduplicate by event_id',
        format: config.format,
        columns: eventColumns(config.format),
        location: landing.datasetLocation('events'),
        projectionStartDate: config.projectionStartDate,
      }),
    });
    eventsTable.node.addDependency(database);
    const errorsTable = new glue.CfnTable(this, 'ErrorsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName,
      tableInput: landedTableInput({
        name: 'errors',
        description:
          'Records that did not land as events, by arrival time (UTC), with their bytes and reason',
        // Error lines land as NDJSON gzip whatever the events' format.
        format: 'ndjson',
        columns: ERROR_COLUMNS,
        location: landing.datasetLocation('errors'),
        projectionStartDate: config.projectionStartDate,
      }),
    });
    errorsTable.node.addDependency(database);
    this.addTypedTables(config, databaseName, eventsTable);

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: stackName,
      description: `Queries over ${landing.sinkUrl}`,
      state: 'ENABLED',
      // Lets `npm run destroy` delete the workgroup even after queries were saved in it.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${landing.bucket.bucketName}/${QUERY_RESULTS_PREFIX}/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    const namedQuery = new athena.CfnNamedQuery(this, 'EventsLastDay', {
      name: 'events by name, last 24 hours',
      description: 'Counts distinct events (by event_id) per event name over the last day',
      database: databaseName,
      workGroup: this.workGroup.name,
      queryString: lastDayQuery(config.format),
    });
    namedQuery.node.addDependency(this.workGroup, eventsTable);
  }

  /**
   * With `trackingPlan`, one typed view per planned event over `events`, as `activity query` has them.
   * Two events that would give one Athena name stop the synth, naming both (`typedViews`).
   */
  private addTypedTables(config: ActivityStackConfig, databaseName: string, eventsTable: glue.CfnTable) {
    if (config.trackingPlan === undefined) return;
    const plan = TrackingPlan.fromPlan(
      JSON.parse(readFileSync(config.trackingPlan, 'utf8')),
      config.trackingPlan,
    );
    for (const view of typedViews(plan, 'athena')) {
      const table = new glue.CfnTable(this, `Typed${pascalCase(view.name)}Table`, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName,
        tableInput: typedTableInput({ view, format: config.format, databaseName }),
      });
      table.node.addDependency(eventsTable);
    }
  }
}

/** `add_to_cart` → `AddToCart`, for logical IDs. */
function pascalCase(name: string): string {
  return name
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** Distinct events per name over the last day, reading the times as the format stores them. */
export function lastDayQuery(format: ActivityStackConfig['format']): string {
  return [
    'SELECT event, count(DISTINCT event_id) AS events',
    'FROM events',
    "WHERE dt >= date_format(current_date - interval '1' day, '%Y-%m-%d')",
    // In Parquet the times are timestamps; in NDJSON, ISO 8601 text.
    format === 'parquet'
      ? '  AND "timestamp" >= current_timestamp - interval \'1\' day'
      : '  AND from_iso8601_timestamp("timestamp") >= current_timestamp - interval \'1\' day',
    'GROUP BY event',
    'ORDER BY events DESC',
  ].join('\n');
}
