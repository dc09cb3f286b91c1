import { Argument, Command, Option } from 'commander';
import type { SinkLocation } from '../../core/locations.js';
import { type OutputFormat, parseOutputFormat } from '../../query/output-format.js';
import { options } from '../options.js';
import { onShutdown } from '../signals.js';

interface QueryFlags {
  sink: SinkLocation;
  trackingPlan?: string;
  output: OutputFormat;
}

const HELP = `
Views:
  events  every landed event (NDJSON and Parquet objects alike), one row per event_id in each hour:
          event_id, user_id, event, session_id (VARCHAR); timestamp, received_at, sent_at,
          original_timestamp (TIMESTAMPTZ, UTC); properties, context (JSON); dt (DATE), hour (INTEGER)
  errors  every record that did not land as an event, one row per stream position and reason:
          reason, message, shard_id, sequence_number, partition_key, event_source_arn, data (base64)
          (VARCHAR); sub_sequence_number (INTEGER); approximate_arrival_timestamp (TIMESTAMPTZ); dt, hour

With --tracking-plan FILE, one more view per planned event, named after it (purchase, add_to_cart, …):
          its events, with each planned property as a column of the plan's type (integer BIGINT,
          number DOUBLE, boolean BOOLEAN, string VARCHAR, date-time TIMESTAMPTZ, date DATE, others
          JSON; a value of another type is NULL), then the other event columns but event and
          properties, and dt, hour

dt and hour are the partitions (event time for events, arrival time for errors, UTC): filters on them
read only the hours asked for. From an s3:// sink, the objects of those hours are downloaded through
the sink's S3 settings into a temporary directory for the query, then removed.

--output json prints an array of row objects: integers of any size are JSON numbers written with all
their digits, JSON columns are embedded objects, times are ISO 8601 strings.

Examples:
  activity query "SELECT event, count(*) AS events FROM events GROUP BY ALL ORDER BY events DESC"
  activity query --output csv "SELECT * FROM events WHERE dt = current_date AND hour >= 9"
  activity query "SELECT properties->>'currency' AS currency, sum((properties->>'amount')::DECIMAL(12,2))
                  FROM events WHERE event = 'purchase' GROUP BY ALL"
  activity query "SELECT reason, count(*) FROM errors GROUP BY ALL"
  activity query --tracking-plan plan.json "SELECT currency, sum(amount) FROM purchase GROUP BY 1"`;

export function queryCommand(): Command {
  return new Command('query')
    .description('run SQL (DuckDB) over the landed data: views events (deduplicated by event_id) and errors')
    .addArgument(new Argument('<sql>', 'the SQL to run; several statements separated by ; print the last'))
    .addOption(options.sink())
    .addOption(options.trackingPlan())
    .addOption(
      new Option('--output <format>', 'table (aligned, for reading), json (an array of row objects) or csv')
        .argParser(parseOutputFormat)
        .default('table'),
    )
    .addHelpText('after', HELP)
    .action((sql: string, flags: QueryFlags) => query(sql, flags));
}

async function query(sql: string, flags: QueryFlags): Promise<void> {
  // DuckDB loads here, not when the CLI starts: other commands do not pay for it.
  const { formatResult, LandedData } = await import('../../query/index.js');
  let typedViews: import('../../plan/index.js').TypedView[] = [];
  if (flags.trackingPlan !== undefined) {
    const plan = await import('../../plan/index.js');
    typedViews = plan.typedViews(await plan.TrackingPlan.fromFile(flags.trackingPlan));
  }
  const data = await LandedData.open(flags.sink, { typedViews });
  const stop = new AbortController();
  const removeHandlers = onShutdown(() => stop.abort());
  try {
    const result = await data.query(sql, stop.signal);
    process.stdout.write(formatResult(result, flags.output));
  } finally {
    removeHandlers();
    await data.close();
  }
}
