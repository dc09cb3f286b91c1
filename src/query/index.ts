export { describeDuckDbError, objectUrl, QueryError, setAsideHint } from './errors.js';
export {
  LandedData,
  type LandedDataOptions,
  type QueryResult,
  type QueryStats,
} from './landed-data.js';
export { type FetchStats, LocalFiles } from './local-files.js';
export {
  formatCsv,
  formatJson,
  formatResult,
  formatTable,
  OUTPUT_FORMATS,
  type OutputFormat,
  parseOutputFormat,
  type ResultTable,
} from './output.js';
export {
  analyseQuery,
  type DatasetNeed,
  type QueryNeeds,
  selectObjects,
  type ViewsOver,
} from './pruning.js';
export { type Cell, cellJson, cellText, cellValue, ExactNumber, JsonText } from './values.js';
export {
  errorsSelect,
  eventsSelect,
  rawSource,
  type SourceFiles,
  sqlColumns,
  sqlIdentifier,
  sqlString,
  TYPED_VIEW_EVENT_COLUMNS,
  typedViewSelect,
} from './views.js';
