export {
  type AcceptedRecord,
  BatchingProducer,
  type BatchingProducerOptions,
  type ProducerStats,
} from './batching-producer.js';
export * from './simulator/index.js';
