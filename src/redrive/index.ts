export {
  type RedriveManifest,
  type RedrivenRecord,
  type RedriveRun,
  readManifest,
} from './manifest.js';
export { parseReasons, REDRIVE_REASONS } from './reasons.js';
export {
  type RedriveOptions,
  type RedriveResult,
  type RedriveStats,
  type RejectedRecord,
  redrive,
} from './redrive.js';
