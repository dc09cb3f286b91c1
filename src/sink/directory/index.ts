export { DirectoryStore } from './directory-store.js';
