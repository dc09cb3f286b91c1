export { escapeHtml } from './charts.js';
export { collectReport, FUNNEL_STEPS, type ReportData, renderReport } from './report.js';
export { exploreCommand, landedSummary, sinkArgument } from './summary.js';
