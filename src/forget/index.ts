export { type ChangedObject, type ForgetOptions, type ForgetResult, forget } from './forget.js';
export {
  DEFAULT_FORGOTTEN_TTL_MS,
  FORGOTTEN_KEY_KEY,
  FORGOTTEN_LIST_KEY,
  FORGOTTEN_PREFIX,
  ForgottenList,
  type ForgottenUsers,
  type KeySource,
  keySourceFromEnv,
  NOBODY,
  userIdInBytes,
} from './forgotten-list.js';
