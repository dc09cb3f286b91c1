/** The two datasets of a sink, each a view of `activity query` and a table in Athena. */
export type Dataset = 'events' | 'errors';

export const DATASETS: readonly Dataset[] = ['events', 'errors'];
