import { PipelineError } from '../core/errors.js';

/**
 * A request the collector refuses as a whole, with the HTTP status it answers. `code` is the
 * `error` field of the JSON body, so clients can match on it.
 */
export class CollectorError extends PipelineError {
  readonly statusCode: number;

  constructor(statusCode: number, code: string, message: string, options: { retriable?: boolean } = {}) {
    super(code, message, { stage: 'collector', retriable: options.retriable ?? false });
    this.name = 'CollectorError';
    this.statusCode = statusCode;
  }
}
