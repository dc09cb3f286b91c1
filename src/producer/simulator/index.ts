export {
  MAX_SIMULATED_USERS,
  type SimulatedEvent,
  type SimulatedEventName,
  Simulator,
  type SimulatorOptions,
} from './simulator.js';
export { type RandomSource, uuidv7 } from './uuid.js';
